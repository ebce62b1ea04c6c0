# drvhost: the two commands are `make demo` and `make test` (see README.md).
#
# The guest kernels are Debian's, -amd64 flavour, one per supported series:
# 6.1 (linux-image-amd64) and 6.12 (linux-image-6.12-amd64). For each series
# the newest installed version with image and headers is used (see
# Tests/VM/kernel-version), so installing some other kernel changes nothing.
# The host's own kernel never loads drvproxy.ko: it is only loaded inside the
# QEMU guests (Tests/VM/boots says which guests).

BUILD   := build
CC      ?= cc
CLANG   ?= clang
SWIFT   ?= swift
FUZZ_SECONDS ?= 60

KERNEL_SERIES := 6.1 6.12

# Evaluated lazily (recursive variables, used only in recipes): `make test`
# installs the kernels before anything asks.
kver_of = $(or $(shell Tests/VM/kernel-version $(1)),$(error no Debian $(1) kernel (-amd64 image and headers) installed: run make deps))
KVERS   = $(foreach s,$(KERNEL_SERIES),$(call kver_of,$(s)))
KMODS   = $(foreach v,$(KVERS),$(BUILD)/kernel/$(v)/drvproxy.ko)

HOST_CFLAGS := -O2 -g -Wall -Wextra -Werror -IKernel -IKernel/include/uapi

.PHONY: all deps kernel unit unit-build fuzz sdk-test plugins swift-test tutorial-test sdk-cost-test \
	vm-payload bench-payload guest-swift guest-plugins guest-data guest-block-tools test test-vm test-vm-judge bench bench-host \
	demo demo-vm demo-sim clean

all: kernel unit-build plugins vm-payload

deps:
	@scripts/install-deps.sh

test: deps
	@scripts/run-suites.sh unit fuzz sdk-test swift-test tutorial-test sdk-cost-test test-vm-judge test-install test-vm

# ---- kernel module ----------------------------------------------------------

# build/kernel/<version>/drvproxy.ko for each guest kernel. Each kernel builds
# its own copy of the sources (build/kernel/<version>/src), so no two kernels
# share objects and Kernel/ stays clean. W=1, and any warning fails the build:
# the compiler's through -Werror, modpost's through the log.
KSRC := Kernel/Kbuild $(filter-out %.mod.c,$(wildcard Kernel/*.c Kernel/*.h)) $(wildcard Kernel/include/uapi/*.h)

kernel:
	@$(MAKE) --no-print-directory -s $(KMODS)

$(BUILD)/kernel/%/drvproxy.ko: $(KSRC)
	@rm -rf $(@D)/src
	@for f in $(KSRC); do install -D -m 0644 $$f $(@D)/src/$${f#Kernel/}; done
	@echo "kernel: drvproxy.ko for $*"
	@$(MAKE) --no-print-directory -C /lib/modules/$*/build M=$(abspath $(@D))/src W=1 KCFLAGS=-Werror modules \
		>$(@D)/build.log 2>&1; status=$$?; cat $(@D)/build.log; \
	if [ $$status -ne 0 ]; then echo "kernel: $*: build failed" >&2; exit 1; fi; \
	if grep -qi 'warning' $(@D)/build.log; then echo "kernel: $*: warnings (W=1) fail the build" >&2; exit 1; fi
	@cp $(@D)/src/drvproxy.ko $@

# ---- register programs in user space: unit tests and fuzzer -------------------

REGPROG := Kernel/regprog.c Kernel/regprog.h Kernel/include/uapi/drvproxy.h

$(BUILD)/unit/test_regprog: Tests/regprog/test_regprog.c $(REGPROG)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -fsanitize=address,undefined -o $@ Tests/regprog/test_regprog.c Kernel/regprog.c

$(BUILD)/unit/fuzz_regprog: Tests/regprog/fuzz_regprog.c $(REGPROG)
	@mkdir -p $(@D)
	$(CLANG) $(HOST_CFLAGS) -fuse-ld=lld -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-o $@ Tests/regprog/fuzz_regprog.c Kernel/regprog.c

unit-build: $(BUILD)/unit/test_regprog

unit: unit-build
	$(BUILD)/unit/test_regprog

# Bounded in time; any crash or assertion the fuzzer finds fails the run.
fuzz: $(BUILD)/unit/fuzz_regprog
	@mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/unit/fuzz_regprog -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=$(BUILD)/unit/ \
		$(BUILD)/fuzz-corpus Tests/regprog/corpus 2>$(BUILD)/unit/fuzz.log; \
	status=$$?; tail -n 15 $(BUILD)/unit/fuzz.log; \
	if [ $$status -eq 0 ]; then echo "fuzz: 1 passed, 0 failed"; else echo "fuzz: 0 passed, 1 failed"; exit 1; fi

# ---- SDK, plugins, Swift ------------------------------------------------------

sdk-test:
	$(MAKE) -C SDK test

# The plugins build like third-party plugins: SDK header via pkg-config only.
plugins:
	$(MAKE) -C Plugins/edu OUT=$(abspath $(BUILD))/plugins
	$(MAKE) -C Plugins/nvme OUT=$(abspath $(BUILD))/plugins
	$(MAKE) -C Plugins/e1000e OUT=$(abspath $(BUILD))/plugins
	$(MAKE) -C Tests/Plugins OUT=$(abspath $(BUILD))/test-plugins
	$(MAKE) -C Tests/Tools OUT=$(abspath $(BUILD))/test-tools
	$(SWIFT) build --package-path Plugins/edu-swift

# The SDK tutorial's own commands, run against devsim, so it cannot rot.
tutorial-test: plugins
	$(SWIFT) build
	Tests/SDK/tutorial-test.sh

swift-test: plugins
	$(SWIFT) test

# A Swift plugin's interrupt path costs the host nothing a C plugin's does
# not: no allocation, no retain/release per event (counted, release builds).
sdk-cost-test: plugins
	$(SWIFT) build --product devsim
	$(SWIFT) build -c release --product driverhost
	$(SWIFT) build -c release --package-path Plugins/edu-swift
	Tests/SDK/interrupt-cost-test.sh

# ---- the VM: payload, tests, benchmarks -----------------------------------------

# Every Tests/VM/src/*.c with a main() is a guest program; the others are
# helpers linked into each of them. Static, so the guest needs no libc.
VM_SRC      := $(wildcard Tests/VM/src/*.c)
VM_MAINS    := $(shell grep -l '^int main' $(VM_SRC) /dev/null 2>/dev/null)
VM_HELPERS  := $(filter-out $(VM_MAINS),$(VM_SRC))
VM_BINS     := $(patsubst Tests/VM/src/%.c,$(BUILD)/vm/payload/bin/%,$(VM_MAINS))

$(BUILD)/vm/payload/bin/%: Tests/VM/src/%.c $(VM_HELPERS) $(wildcard Tests/VM/src/*.h) $(REGPROG)
	@mkdir -p $(@D)
	$(CC) -static $(HOST_CFLAGS) -o $@ $< $(VM_HELPERS) Kernel/regprog.c

# The guest has no Swift runtime: link it in; vm.sh copies the libc-level
# libraries each binary still needs.
# One build for all products: SwiftPM schedules their modules side by side
# (one --product at a time left a core idle through each one's tail).
guest-swift:
	$(SWIFT) build -c release --static-swift-stdlib
	install -D .build/release/driverhost $(BUILD)/vm/payload/bin/driverhost
	install -D .build/release/hostctl $(BUILD)/vm/payload/bin/hostctl
	install -D -s .build/release/hostd $(BUILD)/vm/payload/bin/hostd
	install -D /usr/bin/lspci $(BUILD)/vm/payload/bin/lspci-pciutils
	install -D /usr/sbin/ip $(BUILD)/vm/payload/usr/sbin/ip

# edu-swift needs the Swift runtime's .so files: vm.sh copies what ldd lists
# (the plugin's RUNPATH names the toolchain's directory). The plugin suite
# runs in the guest as it runs on the host against devsim.
guest-plugins:
	$(MAKE) -C Plugins/edu OUT=$(abspath $(BUILD))/vm/payload/plugins
	$(MAKE) -C Plugins/nvme OUT=$(abspath $(BUILD))/vm/payload/plugins all variants
	$(MAKE) -C Plugins/e1000e OUT=$(abspath $(BUILD))/vm/payload/plugins all variants
	$(MAKE) -C Tests/Plugins OUT=$(abspath $(BUILD))/vm/payload/plugins
	$(SWIFT) build -c release --package-path Plugins/edu-swift
	install -D Plugins/edu-swift/.build/release/libedu-swift.so $(BUILD)/vm/payload/plugins/edu-swift.so
	install -D -m 0755 Tests/PluginSuite/plugin-suite.sh $(BUILD)/vm/payload/plugin-suite/plugin-suite.sh
	install -D -m 0644 Tests/PluginSuite/expectations $(BUILD)/vm/payload/plugin-suite/expectations

# Device names for hostctl devices, as lspci shows them.
guest-data:
	install -D -m 0644 /usr/share/misc/pci.ids $(BUILD)/vm/payload/usr/share/misc/pci.ids

# The block class's suite uses real programs on /dev/ublkbN: mkfs.ext4 and
# e2fsck (e2fsprogs), fio; vm.sh copies the libraries they need.
guest-block-tools:
	install -D /usr/sbin/mke2fs $(BUILD)/vm/payload/bin/mkfs.ext4
	install -D /usr/sbin/e2fsck $(BUILD)/vm/payload/bin/e2fsck
	install -D /usr/bin/fio $(BUILD)/vm/payload/bin/fio
	install -D -m 0644 /etc/mke2fs.conf $(BUILD)/vm/payload/etc/mke2fs.conf

vm-payload: $(VM_BINS) guest-swift guest-plugins guest-data guest-block-tools

# Benchmarks only: perf (cpu-clock profiles of the block jobs, bench 60), in
# an archive of its own that vm.sh adds to bench boots, so test boots do not
# grow by its 30 MB of libraries.
bench-payload:
	install -D /usr/bin/perf $(BUILD)/vm/payload-bench/bin/perf

# The demo: README's first command. The sub-make runs after deps, so that
# KVERS sees the kernels deps may just have installed; two jobs, so that the
# kernel modules and the guest's C programs build beside the Swift build.
demo: deps
	@$(MAKE) --no-print-directory -j2 demo-vm

# vm.sh finds each boot's kernel through Tests/VM/kernel-version, as KVERS does.
demo-vm: kernel vm-payload
	@BUILD=$(abspath $(BUILD)) Tests/VM/vm.sh demo

# The same story on devsim, on the host: no VM, no kernel module, seconds.
demo-sim: plugins
	$(SWIFT) build
	scripts/demo-sim.sh

# Every boot of Tests/VM/boots (VM_BOOTS picks some, VM_SUITES some suites).
test-vm: kernel vm-payload
	BUILD=$(abspath $(BUILD)) Tests/VM/vm.sh test

# The dmesg judge vm.sh uses, against known good and bad kernel logs.
test-vm-judge:
	Tests/VM/judge-test.sh

# Each benchmark in the boot its figures are for (its `# bench-boot:` line;
# the first boot otherwise): 6.1/pc, 6.12/pc (block), 6.12/q35-iommu (net),
# two boots at a time. VM_BOOTS runs the selected ones in the boots named.
bench: bench-host kernel vm-payload bench-payload
	BUILD=$(abspath $(BUILD)) Tests/VM/vm.sh bench
	scripts/bench-plots.sh $(BUILD)/bench $(BUILD)/vm/*/console-bench.log

# Events/s through driverhost's loop against a bare C epoll loop, same eventfd source.
bench-host: plugins
	$(SWIFT) build -c release --product driverhost-dispatch-bench
	.build/release/driverhost-dispatch-bench $(BUILD)/test-plugins/good.so

# Kernel/ holds objects only from a manual `make -C Kernel`; no headers needed.
clean:
	-$(MAKE) -C Kernel clean KDIR=/nonexistent
	rm -rf $(BUILD)

# ---- install ---------------------------------------------------------------
#
# make install [PREFIX=/usr/local] [DESTDIR=]: release builds of hostd,
# hostctl, driverhost and devsim (Swift runtime linked in, stripped), the
# systemd unit, the sysusers.d and udev files, /etc/drvhost/hostd.toml (an
# existing one is kept), the SDK header and its pkg-config file, shell
# completions, and drvproxy's source for DKMS in /usr/src/drvproxy-<version>/.
# PREFIX defaults to /usr/local as for any source install; a distribution
# package uses PREFIX=/usr. Every directory below may be set on its own; the
# unit, the example configuration and the .pc file name the installed paths.
# The work is done by scripts/install.sh.

PREFIX         ?= /usr/local
DESTDIR        ?=
BINDIR         ?= $(PREFIX)/bin
SBINDIR        ?= $(PREFIX)/sbin
LIBEXECDIR     ?= $(PREFIX)/libexec
INCLUDEDIR     ?= $(PREFIX)/include
DATADIR        ?= $(PREFIX)/share
# systemd, udev and sysusers all read $(PREFIX)/lib/... for /usr and /usr/local;
# pkg-config's default path has share/pkgconfig for both (the SDK is header only).
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
UDEVRULESDIR   ?= $(PREFIX)/lib/udev/rules.d
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
PKGCONFIGDIR   ?= $(DATADIR)/pkgconfig
PLUGINDIR      ?= $(PREFIX)/lib/drvhost/plugins
# Looked up at fixed places (hostd's default --config, dkms): not under PREFIX.
SYSCONFDIR     ?= /etc
DKMSSRCDIR     ?= /usr/src

INSTALL_PRODUCTS := hostd hostctl driverhost devsim
RELEASE_DIR      := .build/release

.PHONY: install install-build uninstall test-install deb

# guest-swift's flags, so the two share one release build's objects, plus
# --disable-local-rpath: an installed program must not look for libraries in
# its own directory ($$ORIGIN). Alternating with guest-swift only relinks.
install-build:
	@for p in $(INSTALL_PRODUCTS); do \
		$(SWIFT) build -c release --static-swift-stdlib --disable-local-rpath --product $$p || exit 1; \
	done

# scripts/install.sh with every directory of this section.
INSTALL_SH = PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" BINDIR="$(BINDIR)" SBINDIR="$(SBINDIR)" \
	LIBEXECDIR="$(LIBEXECDIR)" INCLUDEDIR="$(INCLUDEDIR)" DATADIR="$(DATADIR)" \
	SYSCONFDIR="$(SYSCONFDIR)" SYSTEMDUNITDIR="$(SYSTEMDUNITDIR)" UDEVRULESDIR="$(UDEVRULESDIR)" \
	SYSUSERSDIR="$(SYSUSERSDIR)" PKGCONFIGDIR="$(PKGCONFIGDIR)" PLUGINDIR="$(PLUGINDIR)" \
	DKMSSRCDIR="$(DKMSSRCDIR)" RELEASE_DIR="$(RELEASE_DIR)" scripts/install.sh

install: install-build
	@$(INSTALL_SH)

# Give it the same PREFIX, DESTDIR and directories as the install it undoes.
uninstall:
	@$(INSTALL_SH) uninstall

# Installs into scratch roots and checks the result (Tests/Install/).
test-install: install-build
	@BUILD=$(abspath $(BUILD)) Tests/Install/install-test.sh

# Debian packages in build/deb/: drvhost (the tools) and drvproxy-dkms.
deb: install-build
	@RELEASE_DIR=$(RELEASE_DIR) scripts/make-deb.sh $(BUILD)/deb
