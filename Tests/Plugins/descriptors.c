/* SPDX-License-Identifier: MIT */
/*
 * Test plugins for driverhost's host-side tests, one per DESCRIPTOR_* macro
 * (see Makefile). `good.so` is a complete plugin for a simulated edu-like
 * device (driverhost's eventfd source): its interrupt() counts events and
 * re-raises by writing BAR0+0x60, which the simulated device turns into the
 * next event, so it also drives the dispatch benchmark. The other variants
 * each break exactly one rule that driverhost must catch before it opens a
 * device (or, for out-of-range, once it knows the BAR sizes).
 */
#include "edu_programs.h"

#include <stdlib.h>
#include <string.h>

struct counter {
	const struct dh_host *host;
	dh_instance *inst;
	uint64_t events;
	uint64_t limit;		/* stop re-raising after this many */
	uint64_t last_snap;
	uint32_t timer_fired;
};

static __attribute__((unused)) int32_t attach(const struct dh_host *host, dh_instance *inst, void **context)
{
	struct counter *c = calloc(1, sizeof(*c));

	if (!c)
		return DH_ERR_NO_MEMORY;
	c->host = host;
	c->inst = inst;
	*context = c;
	return DH_OK;
}

static void detach(void *context)
{
	free(context);
}

static __attribute__((unused)) void interrupt(void *context, const struct dh_event *ev)
{
	struct counter *c = context;

	c->events++;
	c->last_snap = ev->nsnap ? ev->snap[0] : 0;
	if (c->events < c->limit)
		c->host->write32(c->inst, 0, EDU_REG_IRQ_RAISE, 1);
}

static void timer(void *context, uint32_t timer_id)
{
	struct counter *c = context;

	c->timer_fired = timer_id + 1;
}

/* Raise and keep re-raising until `n` events have been seen; returns the count. */
static uint64_t run(void *context, uint64_t n)
{
	struct counter *c = context;

	c->limit = c->events + n;
	c->host->write32(c->inst, 0, EDU_REG_IRQ_RAISE, 1);
	while (c->events < c->limit)
		if (c->host->wait_events(c->inst, 1000000000ull) != DH_OK)
			break;
	return c->events;
}

/* Start `n` re-raising rounds without waiting: the caller runs the loop. */
static uint64_t arm(void *context, uint64_t n)
{
	struct counter *c = context;

	c->limit = c->events + n;
	c->host->write32(c->inst, 0, EDU_REG_IRQ_RAISE, 1);
	return c->limit;
}

static int64_t add(void *context, int64_t a, int32_t b)
{
	(void)context;
	return a + b;
}

static double half(void *context, double x)
{
	(void)context;
	return x / 2;
}

static void nothing(void *context)
{
	(void)context;
}

static uint32_t fire_timer(void *context, uint32_t id)
{
	struct counter *c = context;

	c->timer_fired = 0;
	if (c->host->timer_start(c->inst, id, 1000000, 0) != DH_OK)
		return 0;
	while (!c->timer_fired)
		if (c->host->wait_events(c->inst, 1000000000ull) != DH_OK)
			return 0;
	return c->timer_fired;
}

/* One wait_events of `ms` with nothing to wait for: its answer. */
static int32_t idle_wait(void *context, uint32_t ms)
{
	struct counter *c = context;

	return c->host->wait_events(c->inst, (uint64_t)ms * 1000000u);
}

/*
 * Every argument register class and width at once: if the host called this
 * as anything but its real signature (say, six 64-bit integers), the f64
 * would arrive in the wrong register and the narrow values untruncated.
 */
static double mix(void *context, uint8_t a, int16_t b, double x, uint32_t c, int64_t d, uint16_t e)
{
	(void)context;
	return x * 4 + a - b + (double)c / 2 + (double)d * 3 - e;
}

#if DH_ABI_MINOR >= 2 /* older-minor.so is built against the 1.1 header */
static uint32_t echo_hex(void *context, uint32_t v)
{
	(void)context;
	return v;
}

/* ABI 1.2 buffers: text in, text out. */
static int32_t greet(void *context, const char *name, struct dh_bytes *out)
{
	(void)context;
	size_t n = strlen(name);

	if (n + 7 > out->capacity)
		return DH_ERR_INVALID;
	memcpy(out->data, "hello, ", 7);
	memcpy((char *)out->data + 7, name, n);
	out->size = (uint32_t)(n + 7);
	return DH_OK;
}

static int32_t reverse(void *context, const struct dh_bytes *in, struct dh_bytes *out)
{
	(void)context;
	for (uint32_t i = 0; i < in->size; i++)
		((uint8_t *)out->data)[i] = ((const uint8_t *)in->data)[in->size - 1 - i];
	out->size = in->size;
	return DH_OK;
}

/* A record: what a NIC driver would report in one call. */
struct link_record {
	uint8_t mac[6];
	uint32_t mtu;
	char name[8];
	int64_t speed;
	uint8_t flags;
};

static int32_t link_info(void *context, uint16_t mtu, struct link_record *out)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

	(void)context;
	memcpy(out->mac, mac, sizeof(mac));
	out->mtu = mtu;
	memcpy(out->name, "eth0", 4);
	out->speed = -1;
	out->flags = 0xa5;
	return DH_OK;
}

/* Broken answers the host must refuse: too many bytes, a failure, not UTF-8. */
static int32_t oversize(void *context, struct dh_bytes *out)
{
	(void)context;
	out->size = out->capacity + 1;
	return DH_OK;
}

static int32_t not_found(void *context, struct dh_bytes *out)
{
	(void)context;
	(void)out;
	return DH_ERR_NOT_FOUND;
}

static int32_t not_utf8(void *context, struct dh_bytes *out)
{
	(void)context;
	memset(out->data, 0xff, 2);
	out->size = 2;
	return DH_OK;
}
#endif

static uint64_t count(void *context)
{
	return ((struct counter *)context)->events;
}

static const struct dh_command commands[] = {
	{ "run", "u64(u64)", (dh_command_fn)run, "n raise/interrupt rounds" },
	{ "count", "u64()", (dh_command_fn)count, "events seen" },
	{ "arm", "u64(u64)", (dh_command_fn)arm, "start n rounds, return at once" },
	{ "add", "i64(i64,i32)", (dh_command_fn)add, NULL },
	{ "half", "f64(f64)", (dh_command_fn)half, NULL },
	{ "nothing", "void()", (dh_command_fn)nothing, NULL },
	{ "fire_timer", "u32(u32)", (dh_command_fn)fire_timer, "one-shot timer, waits for it" },
	{ "idle_wait", "i32(u32)", (dh_command_fn)idle_wait, "wait_events(ms) with nothing due" },
	{ "mix", "f64(u8,i16,f64,u32,i64,u16)", (dh_command_fn)mix, "x*4 + a - b + c/2 + d*3 - e" },
#if DH_ABI_MINOR >= 2
	{ "echo_hex", "x32(u32)", (dh_command_fn)echo_hex, NULL },
	{ "greet", "str[32](str[16])", (dh_command_fn)greet, NULL },
	{ "reverse", "bytes[16](bytes[16])", (dh_command_fn)reverse, NULL },
	{ "link", "{mac:bytes[6],mtu:u32,name:str[8],speed:i64,flags:x8}(u16)", (dh_command_fn)link_info, NULL },
	{ "oversize", "bytes[4]()", (dh_command_fn)oversize, NULL },
	{ "not_found", "str[8]()", (dh_command_fn)not_found, NULL },
	{ "not_utf8", "str[8]()", (dh_command_fn)not_utf8, NULL },
#endif
#if defined(DESCRIPTOR_BAD_SIGNATURE)
	{ "bad", "u64(u33)", (dh_command_fn)count, NULL },
#endif
#if defined(DESCRIPTOR_DUPLICATE_COMMAND)
	{ "count", "u64()", (dh_command_fn)count, NULL },
#endif
};

#if defined(DESCRIPTOR_BAD_ACK_OP)
static const struct dh_insn bad_ack[] = { { 99, 0, 0, 0, 0, 0, 0, 0, 0 } };
#elif defined(DESCRIPTOR_RELEASE_SNAPSHOT)
static const struct dh_insn bad_release[] = { DH_INSN_SNAPSHOT() };
#elif defined(DESCRIPTOR_ACK_OUT_OF_RANGE)
static const struct dh_insn bad_ack[] = { DH_INSN_READ(4, 0, 0x100000) };
#endif

#if defined(DESCRIPTOR_OLDER_MINOR)
/*
 * Built against the ABI 1.1 header (abi-1.1/): a descriptor 8 bytes shorter
 * than 1.2's, followed by a pointer where 1.2 has get_extension. A host that
 * read past struct_size would take it for the plugin's get_extension.
 */
static const struct {
	struct dh_plugin plugin;
	const void *beyond;
} older = { .beyond = (const void *)count, .plugin = {
#define DESCRIPTOR_END } };
#else
const struct dh_plugin dh_plugin_entry = {
#define DESCRIPTOR_END };
#endif
	.abi_major = DH_ABI_MAJOR,
#if defined(DESCRIPTOR_NEWER_MINOR)
	.abi_minor = DH_ABI_MINOR + 1,
#else
	.abi_minor = DH_ABI_MINOR,
#endif
#if defined(DESCRIPTOR_SHORT_STRUCT)
	.struct_size = 8,
#else
	.struct_size = sizeof(struct dh_plugin),
#endif
	.name = "test-counter",
	.version = "0",
	EDU_DESCRIPTOR_FIELDS,
#if defined(DESCRIPTOR_BAD_ACK_OP) || defined(DESCRIPTOR_ACK_OUT_OF_RANGE)
	.ack_program = bad_ack,
	.ack_len = COUNT_OF(bad_ack),
#elif defined(DESCRIPTOR_NO_ACK)
	.ack_program = NULL,
	.ack_len = 0,
#endif
#if defined(DESCRIPTOR_RELEASE_SNAPSHOT)
	.release_program = bad_release,
	.release_len = COUNT_OF(bad_release),
#endif
#if !defined(DESCRIPTOR_NO_ATTACH)
	.attach = attach,
#endif
	.detach = detach,
#if !defined(DESCRIPTOR_NO_INTERRUPT)
	.interrupt = interrupt,
#endif
	.timer = timer,
	.commands = commands,
	.command_count = COUNT_OF(commands),
DESCRIPTOR_END

#if defined(DESCRIPTOR_OLDER_MINOR)
DH_EXPORT const struct dh_plugin *dh_plugin_get(void);
const struct dh_plugin *dh_plugin_get(void) { return &older.plugin; }
#endif
