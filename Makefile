# lsmfs - top-level build.
#
#   make            build/liblsm.a, build/lsmfs, build/mkfs.lsmfs, build/fsck.lsmfs
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
URING_LIBS  := -luring

ENGINE_SRC := $(sort $(shell find engine -name '*.c'))
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(O)/obj/%.o)
# fs/ sources shared with mkfs and fsck (the on-store format); the rest is the daemon.
FSLIB_SRC  := $(sort $(wildcard fs/schema*.c))
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

.PHONY: all check unit asan tsan bench deps clean fuzz tests install
all: $(PROGRAMS)

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(FUSE_CFLAGS) -MMD -MP -c $< -o $@

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
	@tools/install-deps.sh

# Long fuzzing runs: every libFuzzer target for FUZZ_TIME seconds (tests/fuzz/fuzz.mk).
FUZZ_TIME ?= 300
fuzz:
	$(MAKE) -f tests/fuzz/fuzz.mk run FUZZ_TIME=$(FUZZ_TIME)

# ---- install ------------------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=...]: the three programs into $(PREFIX)/sbin.
# `mount -t fuse.lsmfs` and fstab need lsmfs on mount.fuse3's PATH (/usr/local/sbin or
# /usr/sbin are fine); `mkfs -t lsmfs` needs mkfs.lsmfs in /sbin or on PATH (PREFIX=/usr).
PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(O)/lsmfs $(O)/mkfs.lsmfs $(DESTDIR)$(PREFIX)/sbin/
	if [ -x $(O)/fsck.lsmfs ]; then install -m 0755 $(O)/fsck.lsmfs $(DESTDIR)$(PREFIX)/sbin/; fi

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

umount:
	fusermount3 -u $(MNT) 2>/dev/null || umount $(MNT)
