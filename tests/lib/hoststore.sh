# shellcheck shell=bash
# Helpers for the host storage tests (test_blk_host_full.sh, test_blk_discard.sh;
# sourced after tests/lib/common.sh, supervisor.sh and recover.sh).
#
# A setup is one supervised driver VM ("drv") owning several disks, each on its own
# controller and image, and with REC_NET=1 an e1000 NIC (nic0, rec_netns); one client
# VM ("cli") uses them all. Disks reach the client in the order given: /dev/ddvmblk0,
# /dev/ddvmblk1, ...
#
# hs_setup NAME CLIENT_SCRIPT "DISK MODEL IMAGE [KEY=VALUE...]"...  write $T/NAME.ini
# hs_alloc_kib FILE                                                 KiB the host allocated to FILE
# hs_console_send VM LINE                                           type LINE on VM's console

# The driver VM's run script: rec_driver_script's, waiting for N disks, not the first.
hs_driver_script() {
	rec_driver_script "$1"
	sed -i "s|\[ -n \"\$(ls /dev/disk/by-pci)\" \] \&\& break|[ \"\$(ls /dev/disk/by-pci \| wc -l)\" -ge $2 ] \&\& break|" "$1"
	grep -q -- "-ge $2 ] && break" "$1" || t_fail "hs_driver_script: rec_driver_script changed"
}

hs_setup() {
	local name=$1 client=$2 disks="" uses="" n=0 spec dev model img kv net_dev="" net_use=""
	shift 2
	for spec in "$@"; do
		read -r dev model img kv <<<"$spec"
		disks+=$(printf '[device %s]\nvm = drv\nkind = blk\nmodel = %s\nimage = %s\n%s\n' \
			"$dev" "$model" "$img" "$(tr ' ' '\n' <<<"${kv:-}" | sed 's/=/ = /')")
		disks+=$'\n'
		uses+=" $dev"
		n=$((n + 1))
	done
	hs_driver_script "$T/driver-run.sh" "$n"
	{
		rec_client_prologue
		cat "$client"
	} >"$T/client-run.sh"
	rec_net_device
	sup_config "$name" <<CONF
[driver-vm drv]
memory = 256M
run = $T/driver-run.sh
ready = DDVM-SERVICES-UP
boot_timeout_ms = ${REC_BOOT_MS:-120000}
restart_max = ${REC_RESTART_MAX:-1000}
restart_backoff_ms = 0
heartbeat_timeout_ms = ${REC_HB_MS:-3000}
request_timeout_ms = ${REC_REQ_MS:-4000}
$disks
$net_dev
[client-vm cli]
memory = 384M
run = $T/client-run.sh
restart_max = 0
boot_timeout_ms = ${REC_BOOT_MS:-120000}
devices =$uses$net_use
CONF
}

# Blocks the host file system gave FILE, in KiB (what discard must give back).
hs_alloc_kib() {
	local b s
	read -r b s < <(stat -c '%b %B' "$1")
	echo $((b * s / 1024))
}

# Type LINE on VM's serial console (the client's run script reads its stdin, the console).
hs_console_send() {
	printf '%s\n' "$2" | "$DDVM" console "$1" --linger 0 >/dev/null 2>&1 ||
		t_fail "cannot type on $1's console"
}

# Client script piece: wait for /dev/ddvmblk0 .. /dev/ddvmblk(N-1).
hs_client_wait_disks() {
	cat <<EOF2
for d in \$(seq 0 $(($1 - 1))); do
	i=0
	while [ ! -b /dev/ddvmblk\$d ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done
	[ -b /dev/ddvmblk\$d ] || echo "CLIENT-DISK-MISSING \$d"
done
echo CLIENT-DISKS-UP
EOF2
}
