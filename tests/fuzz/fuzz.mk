# fuzz.mk - libFuzzer targets over the engine's and the filesystem's decoders.
#
#   make -f tests/fuzz/fuzz.mk [FUZZ_O=build/fuzz]           build every target
#   make -f tests/fuzz/fuzz.mk run FUZZ_TIME=300             fuzz each target FUZZ_TIME s
#   make -f tests/fuzz/fuzz.mk corpus                        regenerate tests/fuzz/corpus
#   (make fuzz FUZZ_TIME=... from the top level does `run`)
#
# Targets are clang -fsanitize=fuzzer,address,undefined builds of tests/fuzz/fuzz_<name>.c
# against every engine source and fs/schema.c, in their own folder. `run` starts from a
# copy of the checked-in seed corpus (tests/fuzz/corpus/<name>) in $(FUZZ_O)/corpus, so
# what a run finds never lands in the source tree; crashes are written to
# $(FUZZ_O)/crashes/<name>/ and fail the run.

SHELL     := /bin/bash
FUZZ_O    ?= build/fuzz
FUZZ_TIME ?= 60
CLANG     ?= clang
FUZZ_SAN  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -g -O1 -pthread -DLSM_FUZZING -Iengine -Iengine/include -Ifs $(FUZZ_SAN)

FUZZ_NAMES  := wal write_batch sst manifest fs_schema
FUZZ_BINS   := $(FUZZ_NAMES:%=$(FUZZ_O)/fuzz_%)
FUZZ_LIBSRC := $(sort $(shell find engine -name '*.c')) fs/schema.c
FUZZ_LIBOBJ := $(FUZZ_LIBSRC:%.c=$(FUZZ_O)/obj/%.o)

.PHONY: all run corpus clean
all: $(FUZZ_BINS)

$(FUZZ_O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_O)/libfuzzlsm.a: $(FUZZ_LIBOBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_O)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_O)/libfuzzlsm.a
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_O)/libfuzzlsm.a -lz

# Seed corpus: made by gen_corpus with the engine's own writers (a plain cc build).
$(FUZZ_O)/gen_corpus: tests/fuzz/gen_corpus.c $(FUZZ_LIBSRC)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -pthread -Iengine -Iengine/include -Ifs -o $@ $^ -lz

corpus: $(FUZZ_O)/gen_corpus
	$(FUZZ_O)/gen_corpus tests/fuzz/corpus

# FUZZ_ARGS: extra libFuzzer flags (e.g. -jobs=2 -workers=2).
run: $(FUZZ_BINS)
	@for n in $(FUZZ_NAMES); do \
	    mkdir -p $(FUZZ_O)/corpus/$$n $(FUZZ_O)/crashes/$$n; \
	    cp -n tests/fuzz/corpus/$$n/* $(FUZZ_O)/corpus/$$n/ 2>/dev/null; \
	    echo "=== fuzz_$$n for $(FUZZ_TIME) s"; \
	    $(FUZZ_O)/fuzz_$$n -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_O)/crashes/$$n/ $(FUZZ_ARGS) $(FUZZ_O)/corpus/$$n \
	        > $(FUZZ_O)/fuzz_$$n.log 2>&1; rc=$$?; \
	    grep -E '^stat::(number_of_executed_units|new_units_added)|ERROR|SUMMARY' \
	        $(FUZZ_O)/fuzz_$$n.log; \
	    if [ $$rc -ne 0 ]; then echo "fuzz_$$n FAILED (log $(FUZZ_O)/fuzz_$$n.log," \
	        "input in $(FUZZ_O)/crashes/$$n/)"; exit 1; fi; \
	done

clean:
	rm -rf $(FUZZ_O)

-include $(shell find $(FUZZ_O)/obj -name '*.d' 2>/dev/null)
