/* SwiftPM wants a source file per C target; this one also pins the layouts
 * the Swift layer relies on. */
#include "CDrvHostSDK.h"

_Static_assert(sizeof(struct dh_insn) == 32, "dh_insn layout");
_Static_assert(sizeof(struct dh_event) == 64, "dh_event layout");
_Static_assert(sizeof(struct dh_bytes) == 16, "dh_bytes layout");
