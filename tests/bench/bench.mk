# bench.mk - builds the benchmark programs (called by `make bench` after `make all`).
#
#   make -f tests/bench/bench.mk O=build            build/kvbench (lsm + rocksdb + leveldb)
#   make -f tests/bench/bench.mk O=build NO_LSM=1   build/kvbench without the lsm backend,
#                                                   for when liblsm.a does not link yet
#
# kvbench links the release build/liblsm.a made by the top-level Makefile (this file does
# not rebuild it) and Debian's librocksdb-dev and libleveldb-dev. Same warnings as the rest
# of the project: -Wall -Wextra -Werror.

O       ?= build
CC      ?= cc
OPT     ?= -O2
NO_LSM  ?= 0
BENCH_CFLAGS := -std=gnu11 -Wall -Wextra -Werror $(OPT) -g -pthread \
                -Iengine -Iengine/include $(CFLAGS)
BENCH_LIBS   := -lrocksdb -lleveldb -lz -pthread $(LDFLAGS)
# liblsm.a carries the RADOS backend when librados' header is there (see the Makefile).
ifneq ($(RADOS),0)
ifneq ($(wildcard /usr/include/rados/librados.h),)
BENCH_LIBS   += -lrados
endif
endif

.PHONY: all
all: $(O)/kvbench

ifeq ($(NO_LSM),1)
$(O)/kvbench: tests/bench/kvbench.c tests/bench/bench.mk
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -DKVBENCH_NO_LSM -o $@ $< $(BENCH_LIBS)
else
$(O)/kvbench: tests/bench/kvbench.c tests/bench/bench.mk $(O)/liblsm.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(O)/liblsm.a $(BENCH_LIBS)
endif
