# lsmfs - top-level build.
#
#   make            build/liblsm.a, build/lsmfs, build/mkfs.lsmfs, build/fsck.lsmfs, build/lsmfsctl
#   make check      every test (unit, integration, crash, fuzz smoke) in a test build
#   make asan       the same suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make tsan       the concurrent tests under ThreadSanitizer
#   make bench      kvbench (engine vs RocksDB/LevelDB) and fsbench (lsmfs vs passthrough_ll/ext4)
#   make deps       install the Debian build dependencies that are missing
#
# Variants build into their own folder (O=...), so release, test and sanitizer objects
# never mix. Test variants define LSM_TESTING, which compiles in the fault-injection hooks
# and the write path's test points.

O       ?= build
CC      ?= cc
OPT     ?= -O2
SAN     ?=
DEFS    ?=
CFLAGS_ALL := -std=gnu11 -Wall -Wextra -Werror $(OPT) -g -pthread $(SAN) $(DEFS) \
              -Iengine -Iengine/include -Ifs $(CFLAGS)
LDLIBS_ALL := -pthread -lz $(SAN) $(LDFLAGS)
FUSE_CFLAGS := $(shell pkg-config --cflags fuse3 2>/dev/null)
FUSE_LIBS   := $(shell pkg-config --libs fuse3 2>/dev/null)
# The RADOS backend (rados:// stores) is built when librados' header is there (librados-dev);
# without it the build is the same and rados:// locations fail with a clear message.
# RADOS=0 leaves it out even when present.
ifneq ($(RADOS),0)
ifneq ($(wildcard /usr/include/rados/librados.h),)
CFLAGS_ALL += -DLSM_HAVE_RADOS
LDLIBS_ALL += -lrados
endif
endif
URING_LIBS  := -luring

ENGINE_SRC := $(sort $(shell find engine -name '*.c'))
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(O)/obj/%.o)
# fs/ sources shared with mkfs and fsck (the on-store format); the rest is the daemon.
FSLIB_SRC  := $(sort $(wildcard fs/schema*.c) fs/mounts.c fs/ctl_client.c fs/rados_opts.c)
FSLIB_OBJ  := $(FSLIB_SRC:%.c=$(O)/obj/%.o)
DAEMON_SRC := $(sort $(filter-out $(FSLIB_SRC),$(wildcard fs/*.c)))
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(O)/obj/%.o)
MKFS_SRC   := $(sort $(wildcard mkfs/*.c))
FSCK_SRC   := $(sort $(wildcard fsck/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
# Helper programs used by integration / crash tests (each tests/tools/X.c is one program).
TOOL_SRC   := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN   := $(TOOL_SRC:tests/tools/%.c=$(O)/tools/%)

PROGRAMS := $(O)/liblsm.a
ifneq ($(DAEMON_SRC),)
PROGRAMS += $(O)/lsmfs
endif
ifneq ($(MKFS_SRC),)
PROGRAMS += $(O)/mkfs.lsmfs
endif
ifneq ($(FSCK_SRC),)
PROGRAMS += $(O)/fsck.lsmfs
endif
CTL_SRC    := $(sort $(wildcard ctl/*.c))
ifneq ($(CTL_SRC),)
PROGRAMS += $(O)/lsmfsctl
endif

.PHONY: all check unit asan tsan bench deps clean fuzz tests install uninstall
all: $(PROGRAMS)

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(FUSE_CFLAGS) -MMD -MP -c $< -o $@

# fs/, mkfs/ and fsck/ see the engine only through its public API: they compile without
# -Iengine, so an include of an engine-internal header fails the build.
APP_CFLAGS := $(filter-out -Iengine,$(CFLAGS_ALL))
$(O)/obj/fs/%.o $(O)/obj/mkfs/%.o $(O)/obj/fsck/%.o: CFLAGS_ALL = $(APP_CFLAGS)

$(O)/liblsm.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/libfsschema.a: $(FSLIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/lsmfs: $(DAEMON_OBJ) $(O)/libfsschema.a $(O)/liblsm.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(FUSE_LIBS) $(URING_LIBS) $(LDLIBS_ALL)

$(O)/mkfs.lsmfs: $(MKFS_SRC:%.c=$(O)/obj/%.o) $(O)/libfsschema.a $(O)/liblsm.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(O)/fsck.lsmfs: $(FSCK_SRC:%.c=$(O)/obj/%.o) $(O)/libfsschema.a $(O)/liblsm.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(O)/lsmfsctl: $(CTL_SRC:%.c=$(O)/obj/%.o) $(O)/libfsschema.a
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

$(O)/tests/%: $(O)/obj/tests/unit/%.o $(O)/libfsschema.a $(O)/liblsm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ -lcmocka $(LDLIBS_ALL)

$(O)/tools/%: $(O)/obj/tests/tools/%.o $(O)/libfsschema.a $(O)/liblsm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

tests: $(PROGRAMS) $(UNIT_BIN) $(TOOL_BIN)

# ---- test variants ------------------------------------------------------------------
TESTDEFS := -DLSM_TESTING
check:
	$(MAKE) O=build/check DEFS="$(TESTDEFS)" tests
	O=build/check tests/run.sh

# Unit tests only (fast inner loop): make unit [T=test_name]
unit:
	$(MAKE) O=build/check DEFS="$(TESTDEFS)" tests
	O=build/check ONLY=unit T="$(T)" tests/run.sh

asan:
	$(MAKE) O=build/asan OPT=-O1 DEFS="$(TESTDEFS)" \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    O=build/asan LSM_SANITIZER=asan tests/run.sh

tsan:
	$(MAKE) O=build/tsan OPT=-O1 DEFS="$(TESTDEFS)" SAN="-fsanitize=thread" tests
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	    O=build/tsan LSM_SANITIZER=tsan ONLY=unit tests/run.sh

bench:
	$(MAKE) all
	$(MAKE) -f tests/bench/bench.mk O=build
	tests/bench/run.sh

deps:
	@RADOS=$(RADOS) tools/install-deps.sh

# Long fuzzing runs: every libFuzzer target for FUZZ_TIME seconds (tests/fuzz/fuzz.mk).
FUZZ_TIME ?= 300
fuzz:
	$(MAKE) -f tests/fuzz/fuzz.mk run FUZZ_TIME=$(FUZZ_TIME)

# ---- install ------------------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=...]: the three programs into $(PREFIX)/sbin,
# their man pages (man/) into $(MANDIR)/man8 and bash completion into $(COMPDIR);
# make uninstall removes them.
# `mount -t fuse.lsmfs` and fstab need lsmfs on mount.fuse3's PATH (/usr/local/sbin or
# /usr/sbin are fine); `mkfs -t lsmfs` needs mkfs.lsmfs in /sbin or on PATH (PREFIX=/usr).
PREFIX ?= /usr/local
MANDIR ?= $(PREFIX)/share/man
COMPDIR ?= $(PREFIX)/share/bash-completion/completions
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(O)/lsmfs $(O)/mkfs.lsmfs $(DESTDIR)$(PREFIX)/sbin/
	if [ -x $(O)/fsck.lsmfs ]; then install -m 0755 $(O)/fsck.lsmfs $(DESTDIR)$(PREFIX)/sbin/; fi
	if [ -x $(O)/lsmfsctl ]; then install -m 0755 $(O)/lsmfsctl $(DESTDIR)$(PREFIX)/sbin/; fi
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(COMPDIR)
	install -m 0644 man/lsmfs.8 man/mkfs.lsmfs.8 man/fsck.lsmfs.8 $(DESTDIR)$(MANDIR)/man8/
	if [ -x $(O)/lsmfsctl ]; then install -m 0644 ctl/lsmfsctl.8 $(DESTDIR)$(MANDIR)/man8/; fi
	install -m 0644 tools/completion/lsmfs $(DESTDIR)$(COMPDIR)/lsmfs
	ln -sf lsmfs $(DESTDIR)$(COMPDIR)/mkfs.lsmfs
	ln -sf lsmfs $(DESTDIR)$(COMPDIR)/fsck.lsmfs

# Removes exactly what install put there (same PREFIX / DESTDIR).
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/lsmfs $(DESTDIR)$(PREFIX)/sbin/mkfs.lsmfs \
	      $(DESTDIR)$(PREFIX)/sbin/fsck.lsmfs $(DESTDIR)$(PREFIX)/sbin/lsmfsctl
	rm -f $(DESTDIR)$(MANDIR)/man8/lsmfs.8 $(DESTDIR)$(MANDIR)/man8/mkfs.lsmfs.8 \
	      $(DESTDIR)$(MANDIR)/man8/fsck.lsmfs.8 $(DESTDIR)$(MANDIR)/man8/lsmfsctl.8
	rm -f $(DESTDIR)$(COMPDIR)/lsmfs $(DESTDIR)$(COMPDIR)/mkfs.lsmfs $(DESTDIR)$(COMPDIR)/fsck.lsmfs

clean:
	rm -rf build

-include $(shell find $(O)/obj -name "*.d" 2>/dev/null)

# ---- a working mount in the repo ------------------------------------------------------
STORE ?= store
MNT   ?= mnt
.PHONY: mount umount
mount: deps
	$(MAKE) all
	@tools/enable-uring.sh
	@if [ ! -e $(STORE)/CURRENT ]; then build/mkfs.lsmfs $(STORE); fi
	@mkdir -p $(MNT)
	@if mountpoint -q $(MNT); then echo "$(MNT) is already mounted"; \
	 else build/lsmfs $(STORE) $(MNT) && echo "lsmfs: $(STORE) mounted on $(MNT) (unmount: make umount)"; fi

# Returns once the daemon has closed the store (umount itself returns ~1-2 s earlier), so
# that fsck.lsmfs or a new mount can follow at once.
umount:
	fusermount3 -u $(MNT) 2>/dev/null || umount $(MNT)
	@i=0; while [ -e $(STORE)/LOCK ] && ! flock -n $(STORE)/LOCK true 2>/dev/null && \
	    [ $$i -lt 300 ]; do sleep 0.1; i=$$((i + 1)); done
