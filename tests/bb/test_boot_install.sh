#!/usr/bin/env bash
# make install DESTDIR=… PREFIX=/usr lays out every file, the installed
# programs run (wsd -n on the installed example ecosystem), the installed
# unit verifies with its man pages, and make uninstall removes it all.
. "$(dirname "$0")/lib.sh"

D=$T/inst
# A private object folder: never the tree's build/ or another test's.  It
# starts as a copy of the runner's (timestamps kept), so make only
# rebuilds what changed since.
if [ -n "${WSD_OBJDIR:-}" ] && [ -d "$WSD_OBJDIR/obj" ]; then
	mkdir -p "$T/build/bin"
	cp -a "$WSD_OBJDIR/obj" "$WSD_OBJDIR"/*.a "$T/build/" 2>/dev/null
	cp -a "$BIN/wsd" "$BIN/wsctl" "$BIN/wsworker" "$T/build/bin/" 2>/dev/null
fi
if make -C "$TOP" --no-print-directory -j2 O="$T/build" BINDIR="$T/build/bin" \
    DESTDIR="$D" PREFIX=/usr install > "$T/make.log" 2>&1; then
	ok "make install DESTDIR=\$T/inst PREFIX=/usr"
else
	not_ok "make install DESTDIR=\$T/inst PREFIX=/usr" "$(tail -20 "$T/make.log")"
	finish
fi

mode_is() { [ -f "$D$1" ] && [ "$(stat -c %a "$D$1")" = "$2" ]; }
for f in /usr/bin/wsd /usr/bin/wsctl /usr/bin/wsworker /etc/init.d/wsd \
	/usr/share/wsd/ecosystem/init-env.sh; do
	check "installed $f (0755)" mode_is "$f" 755
done
for f in /usr/lib/systemd/system/wsd.service \
	/usr/share/man/man1/wsctl.1 /usr/share/man/man5/wsd-ecosystem.5 \
	/usr/share/man/man8/wsd.8 \
	/usr/share/wsd/ecosystem/ecosystem.json \
	/usr/share/wsd/ecosystem/.env.example \
	/usr/share/doc/wsd/control-protocol.md /usr/share/doc/wsd/deploy.md; do
	check "installed $f (0644)" mode_is "$f" 644
done
# Whatever else the example folder holds is installed too, but never a .env
# (it holds secrets).
for f in "$TOP"/ecosystem/*.json "$TOP"/ecosystem/*.sh; do
	[ -e "$f" ] || continue
	check "example $(basename "$f") installed" test -f "$D/usr/share/wsd/ecosystem/$(basename "$f")"
done
check "no .env installed" test ! -e "$D/usr/share/wsd/ecosystem/.env"
check "no temporary files left" test -z "$(find "$D" -name '*.new')"

# The init files name the installed programs, not /usr/local/bin.
check "installed unit runs /usr/bin/wsd" \
	grep -qx "ExecStart=/usr/bin/wsd --foreground --resurrect" "$D/usr/lib/systemd/system/wsd.service"
check "installed unit names no /usr/local/bin" \
	test -z "$(grep /usr/local/bin "$D/usr/lib/systemd/system/wsd.service")"
check "installed SysV script defaults to /usr/bin" \
	grep -qF 'WSD_BINDIR=${WSD_BINDIR:-/usr/bin}' "$D/etc/init.d/wsd"

# The installed unit, its programs pointed into DESTDIR, verifies with the
# installed man pages found (Documentation=man:wsd(8) …).
mkdir -p "$T/unit"
sed "s|/usr/bin/|$D/usr/bin/|g" "$D/usr/lib/systemd/system/wsd.service" > "$T/unit/wsd.service"
out=$(MANPATH="$D/usr/share/man" systemd-analyze verify "$T/unit/wsd.service" 2>&1)
rc=$?
if [ $rc = 0 ] && ! grep -q "wsd.service" <<<"$out"; then
	ok "installed unit passes systemd-analyze verify, man pages included"
else
	not_ok "installed unit passes systemd-analyze verify, man pages included" "status $rc" "$out"
fi
for m in man1/wsctl.1 man5/wsd-ecosystem.5 man8/wsd.8; do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$D/usr/share/man/$m" 2>&1 >/dev/null)
	if [ -z "$w" ]; then ok "$m renders without warnings"
	else not_ok "$m renders without warnings" "$w"; fi
done

# The installed programs run.
I=$D/usr/bin
check "installed wsctl runs (help)" "$I/wsctl" help
check "installed wsd runs (--version)" "$I/wsd" --version
E=$D/usr/share/wsd/ecosystem
# The example reads .env, made from .env.example by init-env.sh.
check "installed init-env.sh creates the example .env" sh "$E/init-env.sh"
out=$(PATH="$I:$PATH" "$I/wsd" -n "$E/ecosystem.json" 2>&1)
rc=$?
if [ $rc = 0 ]; then ok "installed wsd -n accepts the installed example ecosystem"
else not_ok "installed wsd -n accepts the installed example ecosystem" "status $rc" "$out"; fi
rm -f "$E/.env"
out=$(PATH="$I:$PATH" "$I/wsd" -n "$E/ecosystem.json" 2>&1)
rc=$?
if [ $rc = 78 ] && grep -q "\.env" <<<"$out"; then
	ok "without its .env the example is refused with 78, naming the file"
else
	not_ok "without its .env the example is refused with 78, naming the file" "status $rc" "$out"
fi

# uninstall leaves nothing behind.
make -C "$TOP" --no-print-directory O="$T/build" BINDIR="$T/build/bin" \
	DESTDIR="$D" PREFIX=/usr uninstall > "$T/uninstall.log" 2>&1
left=$(find "$D" -type f)
if [ -z "$left" ]; then ok "make uninstall removes every installed file"
else not_ok "make uninstall removes every installed file" "$left"; fi

finish
