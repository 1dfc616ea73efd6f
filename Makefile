# netfence: OCI runtime hook fencing a container's egress with cgroup eBPF.
#
#   make              build ./netfence (BPF object embedded through a libbpf skeleton)
#   make check        unit tests, then kernel and runtime tests (root)
#   make integration  kernel and runtime tests only (root)
#   make demo         a real container fenced by a sample policy
#   make bench        benchmarks, writing bench/results.json (root); BASE=<git rev or binary>
#                     measures that base beside ./netfence, taking turns (hook, verdict)
#   make fuzz         libFuzzer targets, FUZZ_TIME seconds each
#   make deps         install the Debian build and test packages (root)
#   make install      install the binary, its wrapper-runtime links, schemas, the hooks.d file
#                     and the CDI spec
#
# V=1 shows the commands; ASAN=1 builds with AddressSanitizer and UBSan; STATIC=0 links glibc
# dynamically, STATIC_LIBS=0 also libbpf, libelf, zlib, jansson and libcap.

OUTPUT      := .output
CLANG       ?= clang
BPFTOOL     ?= bpftool
CC          ?= cc
PKG_CONFIG  ?= pkg-config
PREFIX      ?= /usr/local
DESTDIR     ?=
HOOKS_DIR   ?= /usr/share/containers/oci/hooks.d
CDI_DIR     ?= /etc/cdi
FUZZ_TIME   ?= 60
VERSION     := 0.1.0

LIBS_PC     := libbpf jansson libcap
ARCH        := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_CFLAGS  := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	       -I/usr/include/$(shell uname -m)-linux-gnu -Ibpf

CFLAGS      ?= -O2 -g
CFLAGS      += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers \
	       -D_GNU_SOURCE -DNETFENCE_VERSION='"$(VERSION)"' \
	       -I$(OUTPUT) -Ihook -Ibpf $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
# ./netfence is one static executable: a runtime starts the hook twice for every container, and
# loading glibc and five shared libraries was a fifth of a detach. STATIC=0 links glibc
# dynamically, STATIC_LIBS=0 the other libraries too. Valgrind cannot follow malloc in a static
# glibc, so the memcheck suite runs $(OUTPUT)/netfence-dynamic: the same objects, glibc shared.
STATIC      ?= 1
STATIC_LIBS ?= 1
LIBS_STATIC := -lbpf -ljansson -lcap -lelf -lz
ifeq ($(STATIC_LIBS),1)
LDLIBS      += -Wl,-Bstatic $(LIBS_STATIC) -Wl,-Bdynamic
else
LDLIBS      += $(shell $(PKG_CONFIG) --libs $(LIBS_PC) 2>/dev/null) -lelf -lz
endif

BIN         := netfence
ifeq ($(ASAN),1)
BIN         := netfence-asan
STATIC      := 0
CC          := clang
CFLAGS      += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS     += -fsanitize=address,undefined
OUTPUT      := .output-asan
endif

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

HOOK_SRCS   := $(sort $(wildcard hook/*.c))
HOOK_OBJS   := $(patsubst hook/%.c,$(OUTPUT)/hook/%.o,$(HOOK_SRCS))
LIB_OBJS    := $(filter-out $(OUTPUT)/hook/main.o,$(HOOK_OBJS))
TEST_SRCS   := $(sort $(wildcard tests/test_*.c))
TEST_BINS   := $(patsubst tests/%.c,$(OUTPUT)/tests/%,$(TEST_SRCS))
SKEL        := $(OUTPUT)/netfence.skel.h $(OUTPUT)/netfence_small.skel.h

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all clean check unit integration demo bench fuzz deps install vmlinux format \
	check-format

all: $(BIN) $(if $(filter 1,$(STATIC)),$(OUTPUT)/netfence-dynamic)

# ASAN=1 builds netfence-asan, so a sanitizer build never replaces the real binary.
$(BIN): $(HOOK_OBJS)
	$(call msg,LINK,$@)
ifeq ($(STATIC),1)
	$(Q)$(CC) $(LDFLAGS) -static $^ $(LIBS_STATIC) -o $@
else
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
endif

$(OUTPUT)/netfence-dynamic: $(HOOK_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT) $(OUTPUT)/hook $(OUTPUT)/tests $(OUTPUT)/bpf:
	$(Q)mkdir -p $@

# .bpf.c -> .bpf.o -> linked object -> skeleton
$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c bpf/netfence.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

# The same programs with shallower trees, for policies that fit them (bpf/netfence.h).
$(OUTPUT)/bpf/netfence_small.bpf.o: bpf/netfence.bpf.c bpf/netfence.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DNF_TREE_SMALL -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUTPUT)/%.skel.h: $(OUTPUT)/bpf/%.bpf.o | $(OUTPUT)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(OUTPUT)/hook/%.o: hook/%.c $(wildcard hook/*.h) bpf/netfence.h $(SKEL) | $(OUTPUT)/hook
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Unit tests: one Criterion binary per module test, linked with every module but main.
$(OUTPUT)/tests/%: tests/%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(CFLAGS) -DTEST_DATA='"$(CURDIR)/tests/data"' $(LDFLAGS) $< $(LIB_OBJS) \
		$(LDLIBS) -lcriterion -o $@

unit: $(TEST_BINS)
	$(Q)set -e; for t in $(TEST_BINS); do echo "== $$t"; $$t --jobs 1; done
	$(Q)tests/schema_check.sh ./$(BIN)
	$(Q)python3 tests/config_schema_check.py

# The README's two commands: each installs what it needs first.
check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory integration

integration: all
	$(Q)NETFENCE=$(CURDIR)/$(BIN) \
		MC_NETFENCE=$(if $(filter 1,$(STATIC)),$(CURDIR)/$(OUTPUT)/netfence-dynamic) \
		integration/run-all.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory netfence
	$(Q)integration/demo.sh

bench: netfence
	$(Q)$(if $(BASE),BENCH_BASE='$(BASE)' )bench/run.sh

fuzz:
	$(Q)FUZZ_TIME=$(FUZZ_TIME) fuzz/run.sh

deps:
	$(Q)./scripts/deps.sh

vmlinux: | $(OUTPUT)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux.h

install: netfence
	install -D -m 0755 netfence $(DESTDIR)$(PREFIX)/bin/netfence
	ln -sf netfence $(DESTDIR)$(PREFIX)/bin/netfence-runc
	ln -sf netfence $(DESTDIR)$(PREFIX)/bin/netfence-crun
	install -D -m 0644 schemas/policy.schema.json \
		$(DESTDIR)$(PREFIX)/share/netfence/policy.schema.json
	install -D -m 0644 schemas/config.schema.json \
		$(DESTDIR)$(PREFIX)/share/netfence/config.schema.json
	sed 's|/usr/local/bin/netfence|$(PREFIX)/bin/netfence|' schemas/netfence-hooks.json | \
		install -D -m 0644 /dev/stdin $(DESTDIR)$(HOOKS_DIR)/netfence.json
	sed 's|/usr/local/bin/netfence|$(PREFIX)/bin/netfence|' schemas/netfence-cdi.json | \
		install -D -m 0644 /dev/stdin $(DESTDIR)$(CDI_DIR)/netfence.json

format:
	clang-format -i hook/*.[ch] bpf/*.[ch] fuzz/*.[ch]

check-format:
	clang-format --dry-run --Werror hook/*.[ch] bpf/*.[ch] fuzz/*.[ch]

clean:
	rm -rf .output .output-asan netfence netfence-asan
