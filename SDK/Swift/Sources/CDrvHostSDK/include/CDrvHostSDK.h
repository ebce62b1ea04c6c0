/* The plugin ABI for Swift: SDK/include/drvhost/plugin.h, unchanged. */
#ifndef CDRVHOSTSDK_H
#define CDRVHOSTSDK_H

#include "../../../../include/drvhost/plugin.h"

#endif
