#!/bin/sh
# Regenerates the fake root trees the tests read (run from this directory:
# sh gen.sh). Every tree is the same fake host — same CPUs, memory and kernel —
# seen from a different place:
#   host/           the host itself (cgroup v2, no container marks)
#   docker-cgroup1/ a Docker container, cgroup v1 (/proc/1/cgroup names docker),
#                   with the image's own /etc/machine-id (not mounted)
#   docker-cgroup2/ a Docker container, cgroup v2 ("0::/") with /.dockerenv, and
#                   the host's /etc/machine-id bind-mounted (see mountinfo)
#   podman/         a Podman container (/run/.containerenv), no machine id
#   kubernetes/     a pod seen only through KUBERNETES_SERVICE_HOST (set by the test)
set -eu
HOSTID=4c3b2a190817f6e5d4c3b2a190817f6e
IMAGEID=0123456789abcdef0123456789abcdef

common() {
	d=$1
	mkdir -p "$d/proc/sys/kernel" "$d/proc/1" "$d/proc/self" "$d/sys/devices/system/cpu" "$d/sys/class/net"
	printf '0-7\n' > "$d/sys/devices/system/cpu/present"
	for i in 0 1 2 3; do
		cat >> "$d/proc/cpuinfo" <<CPU
processor	: $i
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz
flags		: fpu vme de pse tsc msr pae sse sse2 ht
CPU
		printf '\n' >> "$d/proc/cpuinfo"
	done
	printf 'MemTotal:       16318504 kB\nMemFree:         1234567 kB\n' > "$d/proc/meminfo"
	printf '6.1.0-18-amd64\n' > "$d/proc/sys/kernel/osrelease"
	printf '22 1 0:21 / / rw,relatime - overlay overlay rw\n' > "$d/proc/self/mountinfo"
}

rm -rf host docker-cgroup1 docker-cgroup2 podman kubernetes

common host
printf '0::/init.scope\n' > host/proc/1/cgroup
mkdir -p host/etc && printf '%s\n' $HOSTID > host/etc/machine-id
for n in eth0 wlan0 wlan1 docker0 bond0 lo; do mkdir -p host/sys/class/net/$n; done
printf '../../../0000:00:03.0\n' > host/sys/class/net/eth0/device
printf '../../../0000:02:00.0\n' > host/sys/class/net/wlan0/device
printf '../../../1-1:1.0\n' > host/sys/class/net/wlan1/device
printf '0\n' > host/sys/class/net/eth0/addr_assign_type
printf '0\n' > host/sys/class/net/wlan0/addr_assign_type
printf '1\n' > host/sys/class/net/wlan1/addr_assign_type
printf '3\n' > host/sys/class/net/docker0/addr_assign_type
printf '3\n' > host/sys/class/net/bond0/addr_assign_type
printf '0\n' > host/sys/class/net/lo/addr_assign_type

common docker-cgroup1
cat > docker-cgroup1/proc/1/cgroup <<CG
12:memory:/docker/3f1c0ffee0ddba11
11:cpu,cpuacct:/docker/3f1c0ffee0ddba11
1:name=systemd:/docker/3f1c0ffee0ddba11
CG
mkdir -p docker-cgroup1/etc && printf '%s\n' $IMAGEID > docker-cgroup1/etc/machine-id
mkdir -p docker-cgroup1/sys/class/net/eth0 && printf '0\n' > docker-cgroup1/sys/class/net/eth0/addr_assign_type

common docker-cgroup2
: > docker-cgroup2/.dockerenv
printf '0::/\n' > docker-cgroup2/proc/1/cgroup
mkdir -p docker-cgroup2/etc && printf '%s\n' $HOSTID > docker-cgroup2/etc/machine-id
printf '610 600 8:1 /etc/machine-id /etc/machine-id ro,relatime - ext4 /dev/sda1 rw\n' >> docker-cgroup2/proc/self/mountinfo

common podman
mkdir -p podman/run && printf 'engine="podman-4.9.3"\n' > podman/run/.containerenv
printf '0::/\n' > podman/proc/1/cgroup

common kubernetes
printf '0::/\n' > kubernetes/proc/1/cgroup
