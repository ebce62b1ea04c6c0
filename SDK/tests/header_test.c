/*
 * Compiles plugin.h the way plugins will: as C99, C11, C17 and C++17 with
 * every warning an error (see SDK/Makefile). It defines a full descriptor
 * with the initialiser macros so that they are checked in each language too.
 */
#include <drvhost/plugin.h>
#include <drvhost/block.h>
#include <drvhost/net.h>

static int32_t test_attach(const struct dh_host *host, dh_instance *inst, void **context)
{
	struct dh_instance_info info;

	info.struct_size = (uint32_t)sizeof(info);
	if (!DH_HOST_HAS(host, instance_info) || host->instance_info(inst, &info) != DH_OK)
		return DH_ERR_NOT_SUPPORTED;
	*context = inst;
	return DH_OK;
}

static void test_detach(void *context) { (void)context; }

static void test_interrupt(void *context, const struct dh_event *event)
{
	(void)context;
	(void)event;
}

static uint64_t test_double(void *context, uint32_t n)
{
	(void)context;
	return (uint64_t)n * 2;
}

static const struct dh_pci_match test_matches[] = { DH_MATCH_ID(0x1234, 0x11e8) };

static const struct dh_insn test_ack[] = {
	DH_INSN_READ(4, 0, 0x24),
	DH_INSN_NOT_MINE_IF_ZERO(),
	DH_INSN_SNAPSHOT(),
	DH_INSN_WRITE(4, 0, 0x64),
};

static const struct dh_insn test_release[] = {
	DH_INSN_WRITE_IMM(4, 0, 0x20, 0),
	DH_INSN_POLL(4, 0, 0x98, 1, 0, 1000),
	DH_INSN_DELAY(10),
};

static const struct dh_command test_commands[] = {
	{ "double", "u64(u32)", (dh_command_fn)test_double, "twice n" },
};

const struct dh_plugin dh_plugin_entry = {
	DH_ABI_MAJOR, DH_ABI_MINOR, sizeof(struct dh_plugin), 0,
	"header-test", "0",
	test_matches, 1,
	DH_IRQ_INTX_SHARED, 0,
	4, test_ack,
	3, 0, test_release,
	0, 0,
	test_attach, test_detach, test_interrupt, NULL,
	test_commands, 1, 0,
	NULL, 0, 0,
};

/* ABI 1.1: the getter's type, as a plugin in another language exports it. */
static const struct dh_plugin *test_get(void)
{
	return &dh_plugin_entry;
}
const dh_plugin_get_fn test_getter = test_get;
