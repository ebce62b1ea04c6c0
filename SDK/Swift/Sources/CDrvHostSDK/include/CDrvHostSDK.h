/* The plugin ABI for Swift: SDK/include/drvhost/plugin.h, unchanged, plus
 * the few things Swift cannot say itself: volatile MMIO, the DMA write
 * barrier, and C functions of a command's real signature (libffi). */
#ifndef CDRVHOSTSDK_H
#define CDRVHOSTSDK_H

#include "../../../../include/drvhost/plugin.h"
#include "../../../../include/drvhost/block.h"
#include "../../../../include/drvhost/net.h"

/* ---- Direct BAR access (dh_host.bar_pointer) ---- */

static inline uint8_t cdhs_mmio_read8(const volatile void *base, uint64_t off)
{ return *(const volatile uint8_t *)((const volatile char *)base + off); }
static inline uint16_t cdhs_mmio_read16(const volatile void *base, uint64_t off)
{ return *(const volatile uint16_t *)((const volatile char *)base + off); }
static inline uint32_t cdhs_mmio_read32(const volatile void *base, uint64_t off)
{ return *(const volatile uint32_t *)((const volatile char *)base + off); }
static inline uint64_t cdhs_mmio_read64(const volatile void *base, uint64_t off)
{ return *(const volatile uint64_t *)((const volatile char *)base + off); }
static inline void cdhs_mmio_write8(volatile void *base, uint64_t off, uint8_t v)
{ *(volatile uint8_t *)((volatile char *)base + off) = v; }
static inline void cdhs_mmio_write16(volatile void *base, uint64_t off, uint16_t v)
{ *(volatile uint16_t *)((volatile char *)base + off) = v; }
static inline void cdhs_mmio_write32(volatile void *base, uint64_t off, uint32_t v)
{ *(volatile uint32_t *)((volatile char *)base + off) = v; }
static inline void cdhs_mmio_write64(volatile void *base, uint64_t off, uint64_t v)
{ *(volatile uint64_t *)((volatile char *)base + off) = v; }

/*
 * Orders earlier writes to coherent DMA memory before a later register
 * write (a doorbell), as Linux's dma_wmb(): on x86-64 stores already reach
 * memory in program order, so only the compiler must not move them; AArch64
 * needs the store barrier for the outer-shareable domain.
 */
static inline void cdhs_dma_write_barrier(void)
{
#if defined(__aarch64__)
	__asm__ __volatile__("dmb oshst" ::: "memory");
#else
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* ---- Commands of any declared signature ---- */

/* A command argument's or result's C type. */
enum cdhs_type {
	CDHS_VOID, CDHS_U8, CDHS_U16, CDHS_U32, CDHS_U64,
	CDHS_I8, CDHS_I16, CDHS_I32, CDHS_I64, CDHS_F64, CDHS_POINTER,
};

/*
 * What a command's C function does when called: `arguments` holds each C
 * argument after the context (integers zero- or sign-extended to 64 bits,
 * f64 as its bits, pointers as addresses); the return value is the result
 * the same way. `user` is what cdhs_command_function was given.
 */
typedef uint64_t (*cdhs_command_body)(void *user, void *context, const uint64_t *arguments);

/*
 * A C function of the real signature `result (void *context, args...)`,
 * built once with libffi's closures, that calls `body`. NULL if libffi
 * refused (no memory, or more than DH_COMMAND_MAX_ARGS + 1 arguments).
 * Kept for the life of the process, like the descriptor.
 */
dh_command_fn cdhs_command_function(uint32_t result, const uint32_t *arguments, uint32_t count,
				    cdhs_command_body body, void *user);

#endif
