# netfence: OCI runtime hook fencing a container's egress with cgroup eBPF.
#
#   make              build ./netfence (BPF object embedded through a libbpf skeleton)
#   make check        unit tests (and check-format), then kernel and runtime tests (root)
#   make format       clang-format over every C source; make check-format checks it
#   make integration  kernel and runtime tests only (root); SUITES="kernel runc" runs those
#                     suites alone, CASES=REGEX only the cases whose names match (also for check)
#   make demo         a real container fenced by a sample policy
#   make bench        benchmarks, writing bench/results.json (root); BASE=<git rev or binary>
#                     measures that base beside ./netfence, taking turns (hook, verdict)
#   make fuzz         libFuzzer targets, FUZZ_TIME seconds each
#   make deps         install the Debian build and test packages (root)
#   make kernel-matrix the kernel suite on Debian's kernels under qemu (docs/kernels.md)
#   make ARCH=arm64   cross-build .output-arm64/netfence (make deps ARCH=arm64 first)
#   make man          the man pages, .output/man/ (scripts/man.py, from man/ and docs/)
#   make install      install what the Debian package holds: the binary (stripped) and its
#                     wrapper-runtime links, schemas, the hooks.d file, the CDI spec, man pages,
#                     bash completion, the gc timer, docs, and the host config unless present
#   make uninstall    remove what make install put there (with the same PREFIX and DESTDIR);
#                     the host config and policies.d only while unchanged
#   make deb          the Debian package, in .output/deb/ (dpkg-buildpackage on a copy), then
#                     lintian (LINTIAN= skips it)
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
SYSCONFDIR  ?= /etc
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/netfence
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR     ?= $(PREFIX)/lib/systemd/system
INSTALL_STRIP ?= -s
LINTIAN     ?= lintian
FUZZ_TIME   ?= 60
VERSION     := 0.1.0

LIBS_PC     := libbpf jansson libcap
HOST_ARCH   := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
ARCH        ?= $(HOST_ARCH)
# The kernel's <asm/types.h> for the BPF object: the same for x86 and arm64.
BPF_ASM_INC := /usr/include/$(shell uname -m)-linux-gnu
RUN_TEST    :=

# ARCH=arm64 on x86: Debian's cross compiler (make deps ARCH=arm64), and arm64 libraries from
# Debian's arm64 packages unpacked into $(SYSROOT) (scripts/arm64-sysroot.sh: no dpkg
# multiarch). Builds .output-arm64/netfence. The unit tests run under qemu-user
# (scripts/qemu-user-run.sh).
ifneq ($(ARCH),$(HOST_ARCH))
ifneq ($(ARCH)-$(HOST_ARCH),arm64-x86)
$(error ARCH=$(ARCH): only arm64 is cross-built, from x86)
endif
CROSS_COMPILE ?= aarch64-linux-gnu-
CC          := $(CROSS_COMPILE)gcc
OUTPUT      := .output-arm64
SYSROOT     ?= $(CURDIR)/$(OUTPUT)/sysroot
SYSROOT_LIB := $(SYSROOT)/usr/lib/aarch64-linux-gnu
PKG_CONFIG  := PKG_CONFIG_LIBDIR=$(SYSROOT_LIB)/pkgconfig PKG_CONFIG_SYSROOT_DIR=$(SYSROOT) \
	       pkg-config
CFLAGS      += -I$(SYSROOT)/usr/include -I$(SYSROOT)/usr/include/aarch64-linux-gnu
LDFLAGS     += -L$(SYSROOT_LIB) -Wl,-rpath-link,$(SYSROOT_LIB) \
	       -Wl,-rpath-link,$(SYSROOT)/lib/aarch64-linux-gnu
BPF_ASM_INC := /usr/aarch64-linux-gnu/include
RUN_TEST    := scripts/qemu-user-run.sh $(SYSROOT)
CROSS_DEP   := $(SYSROOT)/ok
endif

BPF_CFLAGS  := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I$(BPF_ASM_INC) -Ibpf

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

BIN         := $(if $(CROSS_DEP),$(OUTPUT)/,)netfence
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
# Every C source, the tests, fuzzers, benchmarks and integration clients too: make format.
C_SRCS      := $(wildcard hook/*.[ch] bpf/*.[ch] fuzz/*.[ch] tests/*.[ch] integration/*.[ch] \
		 integration/bypass/*.c bench/*.c)
SKEL        := $(OUTPUT)/netfence.skel.h $(OUTPUT)/netfence_small.skel.h
MANPAGES    := $(OUTPUT)/man/netfence.8 $(OUTPUT)/man/netfence-policy.5 \
	       $(OUTPUT)/man/netfence-config.5
# The installed files name the installed binary.
SUBST_BIN   := sed 's|/usr/local/bin/netfence|$(PREFIX)/bin/netfence|'

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all clean check unit integration demo bench fuzz deps install uninstall man deb \
	format check-format kernel-matrix

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

$(OUTPUT) $(OUTPUT)/hook $(OUTPUT)/tests $(OUTPUT)/bpf $(OUTPUT)/man:
	$(Q)mkdir -p $@

$(SYSROOT)/ok: scripts/arm64-sysroot.sh
	$(call msg,SYSROOT,$(SYSROOT))
	$(Q)scripts/arm64-sysroot.sh $(SYSROOT)

# .bpf.c -> .bpf.o -> linked object -> skeleton
$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c bpf/netfence.h bpf/names.bpf.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

# The same programs with shallower trees, for policies that fit them (bpf/netfence.h).
$(OUTPUT)/bpf/netfence_small.bpf.o: bpf/netfence.bpf.c bpf/netfence.h bpf/names.bpf.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DNF_TREE_SMALL -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(OUTPUT)/%.skel.h: $(OUTPUT)/bpf/%.bpf.o | $(OUTPUT)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(OUTPUT)/hook/%.o: hook/%.c $(wildcard hook/*.h) bpf/netfence.h $(SKEL) | $(OUTPUT)/hook $(CROSS_DEP)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Unit tests: one Criterion binary per module test, linked with every module but main.
$(OUTPUT)/tests/%: tests/%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(CFLAGS) -DTEST_DATA='"$(CURDIR)/tests/data"' $(LDFLAGS) $< $(LIB_OBJS) \
		$(LDLIBS) -lcriterion -o $@

unit: $(TEST_BINS) $(MANPAGES) check-format
	$(Q)set -e; for t in $(TEST_BINS); do echo "== $$t"; $(RUN_TEST) $$t --jobs 1; done
	$(Q)$(RUN_TEST) tests/schema_check.sh ./$(BIN)
	$(Q)python3 tests/config_schema_check.py
	$(Q)python3 tests/kubernetes_check.py
	$(Q)$(RUN_TEST) tests/cli_docs_check.sh ./$(BIN) $(OUTPUT)/man

# The README's two commands: each installs what it needs first.
check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory integration

integration: all
	$(Q)NETFENCE=$(CURDIR)/$(BIN) \
		MC_NETFENCE=$(if $(filter 1,$(STATIC)),$(CURDIR)/$(OUTPUT)/netfence-dynamic) \
		CASES='$(value CASES)' integration/run-all.sh $(SUITES)

demo: deps
	$(Q)$(MAKE) --no-print-directory netfence
	$(Q)integration/demo.sh

bench: netfence
	$(Q)$(if $(BASE),BENCH_BASE='$(BASE)' )bench/run.sh

fuzz:
	$(Q)FUZZ_TIME=$(FUZZ_TIME) fuzz/run.sh

deps:
	$(Q)./scripts/deps.sh $(if $(CROSS_DEP),arm64)

# Debian's kernels under qemu (docs/kernels.md): KERNELS="5.10 6.1 6.12 6.18 6.1-arm64" picks.
KERNELS     ?= 5.10 6.1 6.12 6.18 6.1-arm64
kernel-matrix:
	$(Q)./scripts/deps.sh matrix $(if $(filter %-arm64,$(KERNELS)),arm64)
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(if $(filter %-arm64,$(KERNELS)),$(MAKE) --no-print-directory ARCH=arm64 all)
	$(Q)KERNELS="$(KERNELS)" scripts/kernel-matrix.sh

# One source per page, shared with the docs (scripts/man.py says how).
man: $(MANPAGES)

$(OUTPUT)/man/%: man/%.md scripts/man.py | $(OUTPUT)/man
	$(call msg,MAN,$@)
	$(Q)python3 scripts/man.py --version $(VERSION) $< $@

$(OUTPUT)/man/netfence-policy.5: docs/policy.md
$(OUTPUT)/man/netfence-config.5: docs/configuration.md

install: netfence man
	install -D -m 0755 $(INSTALL_STRIP) netfence $(DESTDIR)$(PREFIX)/bin/netfence
	ln -sf netfence $(DESTDIR)$(PREFIX)/bin/netfence-runc
	ln -sf netfence $(DESTDIR)$(PREFIX)/bin/netfence-crun
	install -D -m 0644 schemas/policy.schema.json \
		$(DESTDIR)$(PREFIX)/share/netfence/policy.schema.json
	install -D -m 0644 schemas/config.schema.json \
		$(DESTDIR)$(PREFIX)/share/netfence/config.schema.json
	$(SUBST_BIN) schemas/netfence-hooks.json | \
		install -D -m 0644 /dev/stdin $(DESTDIR)$(HOOKS_DIR)/netfence.json
	$(SUBST_BIN) schemas/netfence-cdi.json | \
		install -D -m 0644 /dev/stdin $(DESTDIR)$(CDI_DIR)/netfence.json
	install -D -m 0644 $(OUTPUT)/man/netfence.8 $(DESTDIR)$(MANDIR)/man8/netfence.8
	ln -sf netfence.8 $(DESTDIR)$(MANDIR)/man8/netfence-runc.8
	ln -sf netfence.8 $(DESTDIR)$(MANDIR)/man8/netfence-crun.8
	install -D -m 0644 $(OUTPUT)/man/netfence-policy.5 \
		$(DESTDIR)$(MANDIR)/man5/netfence-policy.5
	install -D -m 0644 $(OUTPUT)/man/netfence-config.5 \
		$(DESTDIR)$(MANDIR)/man5/netfence-config.5
	install -D -m 0644 dist/bash-completion/netfence $(DESTDIR)$(BASHCOMPDIR)/netfence
	$(SUBST_BIN) dist/systemd/netfence-gc.service | \
		install -D -m 0644 /dev/stdin $(DESTDIR)$(UNITDIR)/netfence-gc.service
	install -D -m 0644 dist/systemd/netfence-gc.timer $(DESTDIR)$(UNITDIR)/netfence-gc.timer
	install -d -m 0755 $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 dist/examples/*.json $(DESTDIR)$(DOCDIR)/examples/
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/netfence/policies.d
	@for f in config.json policies.d/README; do \
		t=$(DESTDIR)$(SYSCONFDIR)/netfence/$$f; \
		if [ -e "$$t" ]; then echo "keeping $$t"; \
		else echo "install -m 0644 dist/etc/netfence/$$f $$t"; \
			install -m 0644 dist/etc/netfence/$$f "$$t" || exit 1; fi; \
	done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/netfence $(DESTDIR)$(PREFIX)/bin/netfence-runc \
		$(DESTDIR)$(PREFIX)/bin/netfence-crun
	rm -f $(DESTDIR)$(PREFIX)/share/netfence/policy.schema.json \
		$(DESTDIR)$(PREFIX)/share/netfence/config.schema.json
	-rmdir $(DESTDIR)$(PREFIX)/share/netfence
	rm -f $(DESTDIR)$(HOOKS_DIR)/netfence.json $(DESTDIR)$(CDI_DIR)/netfence.json
	rm -f $(DESTDIR)$(MANDIR)/man8/netfence.8 $(DESTDIR)$(MANDIR)/man8/netfence-runc.8 \
		$(DESTDIR)$(MANDIR)/man8/netfence-crun.8 \
		$(DESTDIR)$(MANDIR)/man5/netfence-policy.5 \
		$(DESTDIR)$(MANDIR)/man5/netfence-config.5
	rm -f $(DESTDIR)$(BASHCOMPDIR)/netfence
	rm -f $(DESTDIR)$(UNITDIR)/netfence-gc.service $(DESTDIR)$(UNITDIR)/netfence-gc.timer
	rm -rf $(DESTDIR)$(DOCDIR)
	@for f in policies.d/README config.json; do \
		t=$(DESTDIR)$(SYSCONFDIR)/netfence/$$f; \
		if cmp -s dist/etc/netfence/$$f "$$t"; then echo "rm -f $$t"; rm -f "$$t"; \
		elif [ -e "$$t" ]; then echo "keeping $$t: changed since make install"; fi; \
	done
	@rmdir $(DESTDIR)$(SYSCONFDIR)/netfence/policies.d $(DESTDIR)$(SYSCONFDIR)/netfence \
		2>/dev/null || true

# dpkg-buildpackage works on a copy of the tree (tracked and new files, not .output/ or what
# .gitignore names), so the tree keeps no build products and the package lands in .output/deb/.
deb:
	$(Q)./scripts/deps.sh
	$(Q)rm -rf $(OUTPUT)/deb && mkdir -p $(OUTPUT)/deb/src
	$(Q)if git rev-parse --git-dir >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard; \
	else find . -path ./.output -prune -o -path ./.git -prune -o -type f -print0; fi | \
		xargs -0 sh -c 'for f; do [ ! -e "$$f" ] || cp -a --parents "$$f" "$$0"; done' \
			$(OUTPUT)/deb/src
	$(Q)cd $(OUTPUT)/deb/src && dpkg-buildpackage -us -uc -b
	$(Q)rm -rf $(OUTPUT)/deb/src
	$(Q)if [ -n "$(LINTIAN)" ] && command -v $(LINTIAN) >/dev/null; then \
		$(LINTIAN) --fail-on error --info $(OUTPUT)/deb/netfence_*.changes; fi
	$(Q)ls -l $(OUTPUT)/deb/*.deb

format:
	clang-format -i $(C_SRCS)

# Run by make unit; skipped, saying so, where clang-format is not installed.
check-format:
	$(Q)if command -v clang-format >/dev/null; then \
		clang-format --dry-run --Werror $(C_SRCS) && echo "check-format: OK"; \
	else echo "check-format: SKIP: clang-format is not installed"; fi

clean:
	rm -rf .output .output-asan .output-arm64 netfence netfence-asan
