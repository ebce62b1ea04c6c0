#!/usr/bin/env bash
# `make install` into scratch roots, and checks of what it put there:
# the exact file list and modes (expected-files, reviewed: an accidental
# change shows as a diff), the SDK through pkg-config and a plugin built
# against the installed header, the installed programs starting without the
# Swift toolchain, the systemd unit (systemd-analyze verify), the paths the
# unit and configuration name, an administrator's configuration surviving a
# reinstall, PREFIX=/usr, `dkms build` of the installed source tree, the
# Debian packages of `make deb` (contents, Depends, dpkg install and purge
# in a scratch root), and make uninstall.
# Run by `make test-install` (which builds the release binaries first).
# Last line: `N passed, N failed`; a check that cannot run here says SKIP.
set -uo pipefail

cd "$(dirname "$0")/../.."
here=Tests/Install
BUILD=${BUILD:-$PWD/build}
work=$BUILD/install-test
rm -rf "$work"
mkdir -p "$work"
root=$work/root            # PREFIX=/usr/local (the default)
usr_root=$work/root-usr    # PREFIX=/usr
prefix=/usr/local

passed=0
failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; [ $# -gt 1 ] && sed 's/^/    /' <<<"$2"; failed=$((failed + 1)); }
skip() { echo "SKIP: $1: $2"; }
check() {  # name, command...: passes when the command succeeds
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}

# The file list: "mode path" for files and symlinks, "dir path/" for empty
# directories, sorted, paths relative to the root.
file_list() {
	( cd "$1" && {
		find . -mindepth 1 \( -type f -o -type l \) -printf '%m %P\n'
		find . -mindepth 1 -type d -empty -printf 'dir %P/\n'
	} ) | LC_ALL=C sort -k2
}

# ---- install ------------------------------------------------------------------
if out=$(make --no-print-directory install DESTDIR="$root" 2>&1); then
	pass "make install DESTDIR=<scratch> (PREFIX=$prefix)"
else
	fail "make install DESTDIR=<scratch>" "$out"
	echo "$passed passed, $failed failed"
	exit 1
fi

file_list "$root" >"$work/files"
if d=$(diff -u "$here/expected-files" "$work/files"); then
	pass "file list and modes match $here/expected-files"
else
	fail "file list differs from $here/expected-files (review, then copy $work/files there)" "$d"
fi

# ---- programs -----------------------------------------------------------------
programs=("$prefix/sbin/hostd" "$prefix/bin/hostctl" "$prefix/bin/devsim" "$prefix/libexec/drvhost/driverhost")
toolchain=$(dirname "$(dirname "$(command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)")")
for p in "${programs[@]}"; do
	name=$(basename "$p")
	bin=$root$p
	libs=$(ldd "$bin" 2>&1)
	if grep -qE "not found|/opt/swift|$toolchain|libswift|libFoundation|libdispatch" <<<"$libs"; then
		fail "$name: ldd lists no Swift toolchain library" "$libs"
	else
		pass "$name: ldd lists no Swift toolchain library"
	fi
	dyn=$(readelf -d "$bin" 2>&1)
	if grep -qE 'RPATH|RUNPATH' <<<"$dyn"; then
		fail "$name: no RPATH/RUNPATH" "$(grep -E 'RPATH|RUNPATH' <<<"$dyn")"
	else
		pass "$name: no RPATH/RUNPATH"
	fi
	if readelf -S "$bin" | grep -q '\.symtab'; then fail "$name: stripped"; else pass "$name: stripped"; fi
	# A clean environment: no LD_LIBRARY_PATH, no toolchain on PATH.
	if out=$(env -i PATH=/usr/bin:/bin "$bin" --help 2>&1) && grep -qi usage <<<"$out"; then
		pass "$name --help runs without the toolchain"
	else
		fail "$name --help runs without the toolchain" "$out"
	fi
done

# ---- small programs: no Foundation ----------------------------------------------
# hostd and hostctl use FoundationEssentials only: the whole of Foundation
# brings FoundationInternationalization and ICU's data (~40 MB each). Module
# names stay in a stripped binary's Swift metadata, so they are looked for
# there. The bounds (15 and 25 MiB) keep the programs small: each was about
# 65 MB stripped with Foundation, 14.2 and 21.1 MiB without it.
for entry in "$prefix/sbin/hostd 26214400" "$prefix/bin/hostctl 15728640"; do
	read -r p bound <<<"$entry"
	bin=$root$p
	name=$(basename "$p")
	found=$( { grep -a -o -m1 -e FoundationInternationalization -e icudt "$bin" | head -n1; grep -a -c -P '\x00Foundation\x00' "$bin" | grep -v '^0$' | sed 's/^/module Foundation: /'; } 2>&1)
	if [ -z "$found" ]; then
		pass "$name links no Foundation (FoundationInternationalization, ICU data)"
	else
		fail "$name links no Foundation (FoundationInternationalization, ICU data)" "$found"
	fi
	size=$(stat -c %s "$bin")
	if [ "$size" -le "$bound" ]; then
		pass "$name is at most $bound bytes stripped ($size)"
	else
		fail "$name is at most $bound bytes stripped ($size)"
	fi
done

# ---- SDK ----------------------------------------------------------------------
pcdir=$prefix/share/pkgconfig
if tr : '\n' <<<"$(pkg-config --variable pc_path pkg-config)" | grep -qx "$pcdir"; then
	pass "$pcdir is on pkg-config's default search path"
else
	fail "$pcdir is on pkg-config's default search path" "$(pkg-config --variable pc_path pkg-config)"
fi
pc() { PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$root$pcdir pkg-config "$@"; }
cflags=$(pc --cflags drvhost-sdk 2>&1 | sed 's/ *$//')
if [ "$cflags" = "-I$root$prefix/include" ] && [ -f "$root$prefix/include/drvhost/plugin.h" ]; then
	pass "pkg-config --cflags drvhost-sdk finds the installed header"
else
	fail "pkg-config --cflags drvhost-sdk finds the installed header" "got: $cflags"
fi
plugin=$work/myplugin.so
if out=$(cc -std=c11 -Wall -Wextra -Werror $cflags $(pc --variable=plugin_cflags drvhost-sdk) \
		$(pc --variable=plugin_ldflags drvhost-sdk) -o "$plugin" SDK/template/c/myplugin.c 2>&1); then
	pass "the C template plugin compiles against the installed header"
	# The installed driverhost reads the plugin's descriptor, as hostd has it do.
	if out=$(env -i PATH=/usr/bin:/bin "$root$prefix/libexec/drvhost/driverhost" --describe --plugin "$plugin" 2>&1); then
		pass "installed driverhost --describe reads that plugin"
	else
		fail "installed driverhost --describe reads that plugin" "$out"
	fi
else
	fail "the C template plugin compiles against the installed header" "$out"
fi

# ---- systemd unit, configuration ------------------------------------------------
unit=$root$prefix/lib/systemd/system/hostd.service
conf=$root/etc/drvhost/hostd.toml
check "unit starts $prefix/sbin/hostd with /etc/drvhost/hostd.toml" \
	grep -qx "ExecStart=$prefix/sbin/hostd --config /etc/drvhost/hostd.toml" "$unit"
check "configuration names the installed driverhost" \
	grep -q "^driverhost = \"$prefix/libexec/drvhost/driverhost\"" "$conf"
check "configuration names the installed plugin directory" \
	grep -q "^plugin_dir = \"$prefix/lib/drvhost/plugins\"" "$conf"
check "sysusers.d creates group drvhost" grep -qx 'g drvhost -' "$root$prefix/lib/sysusers.d/drvhost.conf"
if command -v systemd-analyze >/dev/null; then
	# --root: ExecStart= and the unit's dependencies are looked up in a copy
	# of the scratch root, given the host's modprobe (ExecStartPre=), sh
	# (ExecReload=) and systemd's own units (sysinit.target and the others
	# every unit needs).
	vroot=$work/verify-root
	cp -a "$root" "$vroot"
	install -D "$(command -v modprobe || echo /sbin/modprobe)" "$vroot/sbin/modprobe"
	install -D "$(readlink -f /bin/sh)" "$vroot/bin/sh"
	mkdir -p "$vroot/usr/lib/systemd"
	cp -a /usr/lib/systemd/system "$vroot/usr/lib/systemd/"
	if out=$(systemd-analyze verify --root="$vroot" "$vroot$prefix/lib/systemd/system/hostd.service" 2>&1) && [ -z "$out" ]; then
		pass "systemd-analyze verify hostd.service"
	else
		fail "systemd-analyze verify hostd.service" "$out"
	fi
	rm -rf "$vroot"
else
	skip "systemd-analyze verify hostd.service" "systemd-analyze not installed"
fi
if command -v bash >/dev/null; then
	check "bash completion script parses" bash -n "$root$prefix/share/bash-completion/completions/hostctl"
fi

# An administrator's configuration survives a second install.
echo "# edited by the administrator" >>"$conf"
if out=$(make --no-print-directory install DESTDIR="$root" 2>&1) && tail -n1 "$conf" | grep -q 'edited by the administrator' \
		&& grep -q 'kept the existing' <<<"$out"; then
	pass "a reinstall keeps an existing /etc/drvhost/hostd.toml"
else
	fail "a reinstall keeps an existing /etc/drvhost/hostd.toml" "$out"
fi
file_list "$root" >"$work/files-again"
check "a reinstall adds no file" diff -u "$work/files" "$work/files-again"

# ---- PREFIX=/usr: what a distribution package would install --------------------
if out=$(make --no-print-directory install PREFIX=/usr DESTDIR="$usr_root" 2>&1); then
	pass "make install PREFIX=/usr DESTDIR=<scratch>"
	file_list "$usr_root" >"$work/files-usr"
	check "PREFIX=/usr installs the same files under /usr" \
		diff -u <(sed 's| usr/local/| usr/|' "$here/expected-files" | LC_ALL=C sort -k2) "$work/files-usr"
	check "PREFIX=/usr: the unit is Support/'s unchanged" \
		cmp Support/systemd/hostd.service "$usr_root/usr/lib/systemd/system/hostd.service"
	check "PREFIX=/usr: the configuration is Support/hostd.toml unchanged" \
		cmp Support/hostd.toml "$usr_root/etc/drvhost/hostd.toml"
	check "PREFIX=/usr: the .pc file says prefix=/usr" grep -qx 'prefix=/usr' "$usr_root/usr/share/pkgconfig/drvhost-sdk.pc"
else
	fail "make install PREFIX=/usr DESTDIR=<scratch>" "$out"
fi

# ---- the DKMS source tree builds, for each kernel with headers ------------------
# With dkms: `dkms build` on scratch source and DKMS trees (the system's
# /var/lib/dkms is not touched; sign_file is pointed nowhere, or dkms would
# create a signing key in /var/lib/dkms). Without: dkms.conf's MAKE line.
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' Kernel/dkms.conf)
srctree=$root/usr/src
kernels=0
command -v dkms >/dev/null || skip "dkms build" "dkms not installed: building with dkms.conf's MAKE line instead"
for build in /lib/modules/*/build; do
	[ -f "$build/Makefile" ] || continue
	kver=$(basename "$(dirname "$build")")
	kernels=$((kernels + 1))
	if command -v dkms >/dev/null; then
		what="dkms build drvproxy/$version -k $kver"
		tree=$work/dkms-tree
		mkdir -p "$tree"
		out=$(sign_file=/nonexistent/sign-file dkms build -m drvproxy -v "$version" -k "$kver" \
			--sourcetree "$srctree" --dkmstree "$tree" 2>&1) \
			&& ls "$tree/drvproxy/$version/$kver"/*/module/drvproxy.ko* >/dev/null 2>&1
	else
		what="usr/src/drvproxy-$version builds drvproxy.ko for $kver"
		tree=$work/dkms-$kver
		cp -a "$srctree/drvproxy-$version" "$tree"
		out=$(make -C "$tree" KDIR="$build" W= modules 2>&1) && [ -f "$tree/drvproxy.ko" ]
	fi
	if [ $? -eq 0 ]; then pass "$what"; else fail "$what" "$(tail -n 20 <<<"$out")"; fi
done
# dkms leaves its source symlink in the tree, not in the root: the root's
# file list is unchanged, but check, since the root is what gets installed.
file_list "$root" >"$work/files-after-dkms"
check "building from the installed source changes nothing in it" diff -u "$work/files-again" "$work/files-after-dkms"
[ $kernels -gt 0 ] || skip "DKMS source tree builds" "no kernel headers in /lib/modules/*/build"

files_left() { ( cd "$1" && find . -mindepth 1 \( -type f -o -type l \) -printf '%P\n' | LC_ALL=C sort ); }

# ---- make deb: the same files as PREFIX=/usr, split in two packages ----------------
debs=$work/deb
if out=$(RELEASE_DIR=.build/release scripts/make-deb.sh "$debs" 2>&1); then
	pass "make deb builds drvhost and drvproxy-dkms"
	deb_files() { for deb in "$@"; do dpkg-deb -c "$deb"; done | awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print $6 }' | LC_ALL=C sort; }
	check "the packages hold exactly what make install PREFIX=/usr installs" \
		diff -u <(files_left "$usr_root") <(deb_files "$debs"/*.deb)
	check "drvproxy-dkms holds the DKMS source only" \
		sh -c "! dpkg-deb -c '$debs'/drvproxy-dkms_*.deb | awk '\$1 !~ /^d/ {print \$6}' | grep -v '^./usr/src/drvproxy-'"
	depends=$(dpkg-deb -f "$debs"/drvhost_*.deb Depends)
	case "$depends" in
	*libpci3*libffi8*|*libffi8*libpci3*) pass "drvhost depends on the libraries it links (libpci3, libffi8): $depends" ;;
	*) fail "drvhost depends on the libraries it links" "Depends: $depends" ;;
	esac
	# Installed into a scratch root by dpkg itself (DPKG_ROOT: the maintainer
	# scripts leave this system alone), then purged without a trace.
	droot=$work/deb-root
	mkdir -p "$droot/var/lib/dpkg/updates" "$droot/var/lib/dpkg/info" && touch "$droot/var/lib/dpkg/status"
	dpkg_root() { dpkg --root="$droot" --force-script-chrootless --force-depends "$@"; }
	if out=$(dpkg_root -i "$debs"/*.deb 2>&1) && [ "$(dpkg --root="$droot" -l | grep -c '^ii  \(drvhost\|drvproxy-dkms\) ')" = 2 ]; then
		pass "dpkg installs both packages"
	else
		fail "dpkg installs both packages" "$out"
	fi
	check "/etc/drvhost/hostd.toml is a conffile (an administrator's edits survive upgrades)" \
		sh -c "dpkg-query --root='$droot' -W -f='\${Conffiles}' drvhost | grep -q '^ /etc/drvhost/hostd.toml '"
	if out=$(dpkg_root --purge drvhost drvproxy-dkms 2>&1) && left=$(files_left "$droot" | grep -v '^var/lib/dpkg/' || true) && [ -z "$left" ]; then
		pass "dpkg --purge removes every file"
	else
		fail "dpkg --purge removes every file" "$out${left:+$'\n'left: $left}"
	fi
else
	fail "make deb builds drvhost and drvproxy-dkms" "$out"
fi

# ---- make uninstall -------------------------------------------------------------
if out=$(make --no-print-directory uninstall PREFIX=/usr DESTDIR="$usr_root" 2>&1) && left=$(files_left "$usr_root") && [ -z "$left" ]; then
	pass "make uninstall PREFIX=/usr removes every file it installed"
else
	fail "make uninstall PREFIX=/usr removes every file it installed" "$out${left:+$'\n'left: $left}"
fi
if out=$(make --no-print-directory uninstall DESTDIR="$root" 2>&1) && left=$(files_left "$root") \
		&& [ "$left" = etc/drvhost/hostd.toml ] && [ ! -e "$root$prefix/lib/drvhost" ]; then
	pass "make uninstall keeps only the administrator's edited configuration"
else
	fail "make uninstall keeps only the administrator's edited configuration" "$out${left:+$'\n'left: $left}"
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
