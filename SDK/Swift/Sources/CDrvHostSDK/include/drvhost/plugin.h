/* The device-class headers include <drvhost/plugin.h>, as plugins see it:
 * this forwards to the one copy in SDK/include. */
#include "../../../../../include/drvhost/plugin.h"
