/* libffi, found through pkg-config `libffi`: used to call plugin commands
 * through their declared type signature. */
#include <ffi.h>
