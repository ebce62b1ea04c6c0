#!/usr/bin/env bash
# Installs drvhost: what `make install` runs once the release binaries are
# built. Every directory comes from the environment (the Makefile's install
# section sets them all from PREFIX; see there for the defaults), and every
# path is staged under DESTDIR. Paths that other programs look up at fixed
# places do not follow PREFIX: the configuration under SYSCONFDIR (/etc,
# where hostd looks by default) and the DKMS source under DKMSSRCDIR
# (/usr/src, where dkms looks).
#
# Files that name other installed files (the systemd unit, the example
# configuration, the pkg-config file) are the repository's files with their
# /usr paths replaced by the configured ones, so for PREFIX=/usr they are
# installed unchanged. An existing $SYSCONFDIR/drvhost/hostd.toml is never
# overwritten: the administrator's settings win, and the new example is in
# $DOCDIR/examples/hostd.toml to compare against.
set -euo pipefail

: "${PREFIX:?}" "${BINDIR:?}" "${SBINDIR:?}" "${LIBEXECDIR:?}" "${INCLUDEDIR:?}" "${DATADIR:?}"
: "${SYSCONFDIR:?}" "${SYSTEMDUNITDIR:?}" "${UDEVRULESDIR:?}" "${SYSUSERSDIR:?}" "${PKGCONFIGDIR:?}"
: "${PLUGINDIR:?}" "${DKMSSRCDIR:?}" "${RELEASE_DIR:?}"
DESTDIR=${DESTDIR:-}
DOCDIR=${DOCDIR:-$DATADIR/doc/drvhost}

for dir in PREFIX BINDIR SBINDIR LIBEXECDIR INCLUDEDIR DATADIR SYSCONFDIR SYSTEMDUNITDIR \
	UDEVRULESDIR SYSUSERSDIR PKGCONFIGDIR PLUGINDIR DKMSSRCDIR DOCDIR; do
	case ${!dir} in /*) ;; *) echo "install: $dir must be an absolute path, not '${!dir}'" >&2; exit 2 ;; esac
done

cd "$(dirname "$0")/.."
root=$DESTDIR
say() { echo "install: $*"; }

# The same substitutions for every file that names an installed path.
# The longest paths first, so /usr/lib/drvhost/plugins is not taken for
# /usr/lib/...; each replacement is checked to have happened where expected.
substitute() {
	sed -e "s|/usr/libexec/drvhost/driverhost|$LIBEXECDIR/drvhost/driverhost|g" \
	    -e "s|/usr/lib/drvhost/plugins|$PLUGINDIR|g" \
	    -e "s|/usr/sbin/hostd|$SBINDIR/hostd|g" \
	    -e "s|/etc/drvhost/hostd.toml|$SYSCONFDIR/drvhost/hostd.toml|g" \
	    -e "s|/usr/share/doc/drvhost/|$DOCDIR/|g" \
	    "$1"
}

# install(1) with the mode and DESTDIR; the last argument is the target file.
put() {
	local mode=$1 src=$2 dst=$3
	install -D -m "$mode" "$src" "$root$dst"
}
put_text() {  # mode, target; text on stdin
	local mode=$1 dst=$2 tmp
	tmp=$(mktemp)
	cat >"$tmp"
	install -D -m "$mode" "$tmp" "$root$dst"
	rm -f "$tmp"
}

# --- `install.sh uninstall` (make uninstall): removes what an install put
# there, under the same settings. The configuration goes only if it is
# still the installed example (an administrator's edits are kept), the
# plugin directory only if empty; shared directories (bin, lib/udev, ...)
# stay. Without DESTDIR, drvproxy is removed from dkms first.
if [ "${1:-}" = uninstall ]; then
	name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"$/\1/p' Kernel/dkms.conf)
	version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' Kernel/dkms.conf)
	if [ -z "$DESTDIR" ] && command -v dkms >/dev/null && dkms status -m "$name" -v "$version" | grep -q .; then
		dkms remove -m "$name" -v "$version" --all
	fi
	conf=$SYSCONFDIR/drvhost/hostd.toml
	if [ -e "$root$conf" ]; then
		if substitute Support/hostd.toml | cmp -s - "$root$conf"; then
			rm -f "$root$conf"
		else
			say "kept $root$conf: it differs from the installed example"
		fi
	fi
	rm -f "$root$SBINDIR/hostd" "$root$BINDIR/hostctl" "$root$BINDIR/devsim" \
		"$root$LIBEXECDIR/drvhost/driverhost" \
		"$root$SYSTEMDUNITDIR/hostd.service" "$root$SYSUSERSDIR/drvhost.conf" \
		"$root$UDEVRULESDIR/99-drvproxy.rules" \
		"$root$DOCDIR/examples/hostd.toml" "$root$DOCDIR/README.md" "$root$DOCDIR/SDK.md" \
		"$root$INCLUDEDIR/drvhost/plugin.h" "$root$INCLUDEDIR/drvhost/block.h" \
		"$root$INCLUDEDIR/drvhost/net.h" "$root$PKGCONFIGDIR/drvhost-sdk.pc" \
		"$root$DATADIR/bash-completion/completions/hostctl" \
		"$root$DATADIR/zsh/site-functions/_hostctl" \
		"$root$DATADIR/fish/vendor_completions.d/hostctl.fish"
	rm -rf "$root$DKMSSRCDIR/$name-$version"
	for dir in "$LIBEXECDIR/drvhost" "$DOCDIR/examples" "$DOCDIR" "$INCLUDEDIR/drvhost" \
		"$PLUGINDIR" "$(dirname "$PLUGINDIR")" "$SYSCONFDIR/drvhost"; do
		rmdir "$root$dir" 2>/dev/null || true
	done
	[ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && systemctl daemon-reload || true
	say "removed (PREFIX=$PREFIX${DESTDIR:+, DESTDIR=$DESTDIR}); the drvhost group stays"
	exit 0
fi

# --- programs: release builds with the Swift runtime linked in, stripped.
for bin in hostd hostctl driverhost devsim; do
	[ -x "$RELEASE_DIR/$bin" ] || { echo "install: $RELEASE_DIR/$bin missing: make install-build" >&2; exit 1; }
done
install -D -m 0755 -s "$RELEASE_DIR/hostd" "$root$SBINDIR/hostd"
install -D -m 0755 -s "$RELEASE_DIR/hostctl" "$root$BINDIR/hostctl"
install -D -m 0755 -s "$RELEASE_DIR/devsim" "$root$BINDIR/devsim"
install -D -m 0755 -s "$RELEASE_DIR/driverhost" "$root$LIBEXECDIR/drvhost/driverhost"

# --- systemd unit, sysusers.d (the drvhost group), udev rule.
substitute Support/systemd/hostd.service | put_text 0644 "$SYSTEMDUNITDIR/hostd.service"
put 0644 Support/sysusers.d/drvhost.conf "$SYSUSERSDIR/drvhost.conf"
put 0644 Kernel/99-drvproxy.rules "$UDEVRULESDIR/99-drvproxy.rules"

# --- configuration: the example always; /etc only when there is none yet.
substitute Support/hostd.toml | put_text 0644 "$DOCDIR/examples/hostd.toml"
conf=$SYSCONFDIR/drvhost/hostd.toml
if [ -e "$root$conf" ]; then
	say "kept the existing $root$conf (the new example: $root$DOCDIR/examples/hostd.toml)"
else
	substitute Support/hostd.toml | put_text 0644 "$conf"
fi
install -d -m 0755 "$root$PLUGINDIR"
put 0644 README.md "$DOCDIR/README.md"
put 0644 SDK/README.md "$DOCDIR/SDK.md"

# --- SDK: the header, and a pkg-config file that names the installed prefix
# (the repository's one finds the header beside itself via ${pcfiledir}).
for header in plugin.h block.h net.h; do
	put 0644 "SDK/include/drvhost/$header" "$INCLUDEDIR/drvhost/$header"
done
pc_includedir=$INCLUDEDIR
[ "$INCLUDEDIR" = "$PREFIX/include" ] && pc_includedir='${prefix}/include'
sed -e "s|^prefix=.*|prefix=$PREFIX|" \
    -e "s|^includedir=.*|includedir=$pc_includedir|" \
    -e 's|^#   PKG_CONFIG_PATH=<this directory> pkg-config|#   pkg-config|' \
    SDK/drvhost-sdk.pc | put_text 0644 "$PKGCONFIGDIR/drvhost-sdk.pc"

# --- shell completions, generated by hostctl itself from its commands.
"$RELEASE_DIR/hostctl" completions install --prefix "$PREFIX" --destdir "$DESTDIR" >/dev/null

# --- drvproxy's source for DKMS, as dkms.conf expects it:
# /usr/src/<PACKAGE_NAME>-<PACKAGE_VERSION>/ with Kbuild, Makefile, include/.
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"$/\1/p' Kernel/dkms.conf)
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' Kernel/dkms.conf)
[ -n "$name" ] && [ -n "$version" ] || { echo "install: no PACKAGE_NAME/PACKAGE_VERSION in Kernel/dkms.conf" >&2; exit 1; }
src=$DKMSSRCDIR/$name-$version
rm -rf "$root$src"   # a reinstall leaves no file of an older tree behind
for f in Kernel/Kbuild Kernel/Makefile Kernel/dkms.conf Kernel/*.c Kernel/*.h Kernel/include/uapi/*.h; do
	case $f in *.mod.c) continue ;; esac
	put 0644 "$f" "$src/${f#Kernel/}"
done

# --- on the live system (no DESTDIR): create the group, tell systemd and udev.
if [ -z "$DESTDIR" ]; then
	command -v systemd-sysusers >/dev/null && systemd-sysusers "$SYSUSERSDIR/drvhost.conf" || true
	[ -d /run/systemd/system ] && systemctl daemon-reload || true
	command -v udevadm >/dev/null && udevadm control --reload-rules 2>/dev/null || true
	say "next: dkms install $name/$version; systemctl enable --now hostd;" \
		"usermod -aG drvhost <user> for each user who may load and call plugins"
fi
say "done (PREFIX=$PREFIX${DESTDIR:+, DESTDIR=$DESTDIR})"
