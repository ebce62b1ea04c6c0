/* The class headers (drvhost/block.h, net.h) include <drvhost/plugin.h>, as a
 * plugin's build finds it; this makes the same name resolve to the SDK's
 * header inside the package, where CDrvHost's include directory is searched. */
#include "../../../../SDK/include/drvhost/plugin.h"
