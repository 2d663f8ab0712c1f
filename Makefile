# qemu-vdpa-persist: pinned upstream QEMU and Linux, our patch series, tests.
#
#   make            build qemu-system-x86_64 and the test VM kernel
#   make demo       boot the test VM and show QEMU driving a vhost-vdpa device
#   make bench      reset, reboot, SVQ switch, migration: fork vs QEMU 10.2 and 10.0
#   make check      run every test suite; ends with "N passed, N failed"
#   make prepare    install packages, fetch the pinned trees, apply the series
#   make patches    export commits made in qemu/src and kernel/src to patches/
#   make deb        Debian packages: QEMU and the vDPA modules (DKMS), in out/deb
#   make check-deb  test them as installed, on Debian's stock 6.1 kernel
#   make install    qemu-system-x86_64 into $(DESTDIR)$(PREFIX) (/usr/local)

TOP := $(CURDIR)
JOBS ?= $(shell nproc)
# Decided when a recipe runs, after install-deps: fixed at parse time, a
# fresh machine's first make builds the kernel without ccache and the next
# make rebuilds all of it because the command line changed.
KCC = $(shell [ -x /usr/lib/ccache/gcc ] && echo ccache gcc || echo gcc)
KMAKE = $(MAKE) -s -C kernel/src O=$(TOP)/kernel/build CC="$(KCC)" -j$(JOBS)

# ccache hits across clones of this repository (CI builds in a fresh one)
export CCACHE_BASEDIR := $(TOP)
export CCACHE_NOHASHDIR := 1

DEPS_STAMP := downloads/.deps-installed

.DELETE_ON_ERROR:
.PHONY: all prepare patches qemu kernel kernel-upstream kselftests mlx5-build check demo \
	qemu-upstream qemu-peer kernel-debian kernel-bench bench guest guest-linux deb qemu-deb kernel-debian-6.1 check-deb install

all: qemu kernel

$(DEPS_STAMP): scripts/install-deps.sh
	sh scripts/install-deps.sh
	mkdir -p downloads && touch $@

# The trees are (re)made when their pin or series changes.
qemu/src/.git/applied-series: qemu/UPSTREAM patches/qemu/series $(wildcard patches/qemu/*.patch) | $(DEPS_STAMP)
	sh scripts/prepare-tree.sh qemu
	touch $@

kernel/src/.git/applied-series: kernel/UPSTREAM patches/kernel/series $(wildcard patches/kernel/*.patch) | $(DEPS_STAMP)
	sh scripts/prepare-tree.sh kernel
	touch $@

prepare: $(DEPS_STAMP) qemu/src/.git/applied-series kernel/src/.git/applied-series

patches:
	sh scripts/export-patches.sh qemu
	sh scripts/export-patches.sh kernel

qemu/build/build.ninja: configure-wrapper.sh | qemu/src/.git/applied-series
	./configure-wrapper.sh

# QEMU's unit tests of what patches/qemu adds (suite qemu-unit)
QEMU_UNIT_TESTS := tests/unit/test-iova-tree tests/unit/test-vhost-vdpa-guest-map

qemu: qemu/build/build.ninja qemu/src/.git/applied-series
	ninja -C qemu/build qemu-system-x86_64 tests/qtest/qos-test $(QEMU_UNIT_TESTS)
	sh scripts/link-firmware.sh qemu/build/qemu-bundle/usr/local/share/qemu

kernel/build/.config: kernel/configs/vm.config | kernel/src/.git/applied-series
	mkdir -p kernel/build
	KCONFIG_ALLCONFIG=$(TOP)/kernel/configs/vm.config $(KMAKE) allnoconfig
	sh scripts/check-kconfig.sh kernel/configs/vm.config $@

kernel: kernel/build/.config kernel/src/.git/applied-series
	$(KMAKE) bzImage

# The same kernel without our series: the baseline that tests and the
# benchmark compare against (a plain copy of the "upstream" tag).
kernel/src-upstream/Makefile: kernel/UPSTREAM | kernel/src/.git/applied-series
	rm -rf kernel/src-upstream kernel/build-upstream
	mkdir -p kernel/src-upstream
	git -C kernel/src archive upstream | tar -x -C kernel/src-upstream

kernel/build-upstream/.config: kernel/configs/vm.config kernel/src-upstream/Makefile
	mkdir -p kernel/build-upstream
	KCONFIG_ALLCONFIG=$(TOP)/kernel/configs/vm.config $(MAKE) -s \
		-C kernel/src-upstream O=$(TOP)/kernel/build-upstream allnoconfig
	sh scripts/check-kconfig.sh kernel/configs/vm.config $@

kernel-upstream: kernel/build-upstream/.config
	$(MAKE) -s -C kernel/src-upstream O=$(TOP)/kernel/build-upstream \
		CC="$(KCC)" -j$(JOBS) bzImage

# QEMU without our series (the "upstream" tag: Debian's 10.0.13), for the
# benchmark; same configure and relative layout as qemu/, so ccache hits.
qemu-upstream/src/.stamp: qemu/UPSTREAM | qemu/src/.git/applied-series
	rm -rf qemu-upstream
	mkdir -p qemu-upstream/src
	git -C qemu/src archive upstream | tar -xm -C qemu-upstream/src
	touch $@

qemu-upstream/build/build.ninja: configure-wrapper.sh qemu-upstream/src/.stamp
	QEMU_DIR=qemu-upstream ./configure-wrapper.sh

qemu-upstream: qemu-upstream/build/build.ninja
	ninja -C qemu-upstream/build qemu-system-x86_64
	sh scripts/link-firmware.sh qemu-upstream/build/qemu-bundle/usr/local/share/qemu

# The newest upstream QEMU in Debian (unstable's source package, pinned in
# tests/bench/PEER), the benchmark's strongest peer; the same configure.
qemu-peer/src/.peer-version: tests/bench/PEER tests/bench/qemu-peer.sh | $(DEPS_STAMP)
	sh tests/bench/qemu-peer.sh

qemu-peer/build/build.ninja: configure-wrapper.sh qemu-peer/src/.peer-version
	QEMU_DIR=qemu-peer ./configure-wrapper.sh

qemu-peer: qemu-peer/build/build.ninja
	ninja -C qemu-peer/build qemu-system-x86_64
	sh scripts/link-firmware.sh qemu-peer/build/qemu-bundle/usr/local/share/qemu

# Debian's own 6.12 kernel (upstream Linux's IOTLB_PERSIST) for the benchmark:
# vdpa_sim built out of tree, an initramfs for its 9p and vDPA modules.
kernel/build-debian-6.12/initrd.img: scripts/debian-kernel.sh | $(DEPS_STAMP)
	sh scripts/debian-kernel.sh kernel/build-debian-6.12

kernel-debian: kernel/build-debian-6.12/initrd.img

# Variants of the test VM kernel: allnoconfig + vm.config + configs/NAME.config
kernel/build-%/.config: kernel/configs/vm.config kernel/configs/%.config | kernel/src/.git/applied-series
	mkdir -p $(@D)
	cat $^ > $(@D)/all.config
	KCONFIG_ALLCONFIG=$(TOP)/$(@D)/all.config \
		$(MAKE) -s -C kernel/src O=$(TOP)/$(@D) allnoconfig
	sh scripts/check-kconfig.sh $(@D)/all.config $@

# The benchmark's build of our kernel: hugetlbfs (configs/bench.config)
kernel-bench: kernel/build-bench/.config kernel/src/.git/applied-series
	$(MAKE) -s -C kernel/src O=$(TOP)/kernel/build-bench CC="$(KCC)" -j$(JOBS) bzImage

# Reset, reboot, SVQ switch and migration cost against guest memory size and
# backing, the fork against QEMU 10.2 and 10.0: docs/bench/ (BENCH_MODE=quick)
bench: qemu kernel-bench qemu-upstream qemu-peer kernel-debian guest-linux
	sh tests/bench/run.sh

# Kernel selftests, built against the patched tree's uAPI headers.
KSELFTESTS := kernel/build/kselftest
kselftests: kernel
	$(KMAKE) headers
	mkdir -p $(KSELFTESTS)/vhost
	$(MAKE) -s -C kernel/src/tools/testing/selftests/vhost \
		OUTPUT=$(TOP)/$(KSELFTESTS)/vhost \
		KHDR_INCLUDES="-isystem $(TOP)/kernel/build/usr/include"
	mkdir -p $(KSELFTESTS)/vfio
	$(MAKE) -s -C kernel/src/tools/testing/selftests/vfio \
		OUTPUT=$(TOP)/$(KSELFTESTS)/vfio \
		KHDR_INCLUDES="-isystem $(TOP)/kernel/build/usr/include"

# mlx5_vdpa has no hardware here: compile it, with the VM config + mlx5.config
# (kernel/build-mlx5/.config: the variant rule above).
mlx5-build: kernel/build-mlx5/.config kernel/src/.git/applied-series
	$(MAKE) -s -C kernel/src O=$(TOP)/kernel/build-mlx5 CC="$(KCC)" -j$(JOBS) \
		drivers/vdpa/mlx5/

# The freestanding test guest booted by the migration scenarios.
guest:
	$(MAKE) -C tests/guest

# The Linux test guest: a small kernel (kernel/configs/guest.config) and an
# initramfs holding the static init of tests/guest-linux.
GKMAKE = $(MAKE) -s -C kernel/src O=$(TOP)/kernel/build-guest CC="$(KCC)" -j$(JOBS)
kernel/build-guest/.config: kernel/configs/guest.config | kernel/src/.git/applied-series
	mkdir -p kernel/build-guest
	KCONFIG_ALLCONFIG=$(TOP)/kernel/configs/guest.config $(GKMAKE) allnoconfig
	sh scripts/check-kconfig.sh kernel/configs/guest.config $@

guest-linux: kernel/build-guest/.config kernel/src/.git/applied-series
	$(GKMAKE) bzImage
	$(MAKE) -C tests/guest-linux GEN_INIT_CPIO=$(TOP)/kernel/build-guest/usr/gen_init_cpio

check: all kselftests kernel-upstream guest guest-linux deb kernel-debian-6.1
	python3 tests/run.py $(SUITES)

demo: all guest
	sh tests/demo.sh

# Debian packages.  QEMU is configured for /usr as Debian's qemu-system-x86
# is (firmware from seabios, ipxe-qemu, qemu-system-data) in qemu-deb/, from
# the "upstream" tag + patches/qemu; same relative layout as qemu/, so ccache
# hits.  The DKMS package takes its sources from the "upstream" tag +
# patches/kernel.  Both: packaging/, scripts/deb-*.sh.
DEB_OUT := out/deb
QEMU_DEB_CONFIG := --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
	--libexecdir=/usr/lib/qemu \
	--firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu

qemu-deb/src/.stamp: qemu/UPSTREAM patches/qemu/series $(wildcard patches/qemu/*.patch) \
		scripts/series-tree.sh | qemu/src/.git/applied-series
	sh scripts/series-tree.sh qemu qemu-deb/src
	touch $@

qemu-deb/build/build.ninja: configure-wrapper.sh | qemu-deb/src/.stamp
	QEMU_DIR=qemu-deb ./configure-wrapper.sh $(QEMU_DEB_CONFIG)

qemu-deb: qemu-deb/build/build.ninja qemu-deb/src/.stamp
	nice ninja -C qemu-deb/build qemu-system-x86_64

$(DEB_OUT)/qemu.stamp: qemu-deb packaging/qemu/* scripts/deb-qemu.sh scripts/deb-common.sh
	sh scripts/deb-qemu.sh qemu-deb/build $(DEB_OUT)
	touch $@

$(DEB_OUT)/dkms.stamp: packaging/dkms/* scripts/deb-dkms.sh scripts/deb-common.sh \
		scripts/series-tree.sh kernel/UPSTREAM patches/kernel/series \
		$(wildcard patches/kernel/*.patch) | kernel/src/.git/applied-series
	sh scripts/deb-dkms.sh $(DEB_OUT)
	touch $@

deb: $(DEB_OUT)/qemu.stamp $(DEB_OUT)/dkms.stamp
	lintian --info --pedantic --fail-on error,warning $(DEB_OUT)/*.deb

# Debian's stock 6.1 kernel with the DKMS package's modules (built by dkms)
kernel/build-debian-6.1/initrd.img: scripts/debian-kernel.sh $(DEB_OUT)/dkms.stamp
	sh scripts/debian-kernel.sh kernel/build-debian-6.1 6.1 \
		$(DEB_OUT)/vdpa-persist-dkms_*_all.deb

kernel-debian-6.1: kernel/build-debian-6.1/initrd.img

# The packages as installed: tests/deb (upgrade from Debian's QEMU and back,
# selftest and migration on Debian's kernel with the DKMS modules)
DEB_SUITES := deb-lintian deb-upgrade install deb-kselftest deb-migration
check-deb: all kselftests guest deb kernel-debian-6.1
	python3 tests/run.py $(DEB_SUITES)

PREFIX ?= /usr/local
# qemu-system-x86_64 is relocatable: it finds its data in PREFIX/share/qemu,
# where Debian's firmware is linked (scripts/link-firmware.sh).
install: qemu
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 qemu/build/qemu-system-x86_64 $(DESTDIR)$(PREFIX)/bin/
	install -m 644 packaging/qemu/qemu-system-x86_64.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	sh scripts/link-firmware.sh $(DESTDIR)$(PREFIX)/share/qemu
