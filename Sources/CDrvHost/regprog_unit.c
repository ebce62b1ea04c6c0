/* The kernel's register-program engine, compiled unchanged into driverhost so
 * that a plugin's programs are validated with the kernel's own rules before
 * the device is touched. */
#include "../../Kernel/regprog.c"
