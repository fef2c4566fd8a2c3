# iterbench: build all C and BPF into build/. `make V=1` shows full commands.
BUILD := $(abspath build)

.PHONY: all workloads bpf native clean
all: workloads native

workloads:
	@$(MAKE) --no-print-directory -C workloads O=$(BUILD)/workloads

bpf:
	@$(MAKE) --no-print-directory -C bpf O=$(BUILD)/bpf

native: bpf
	@$(MAKE) --no-print-directory -C bench/native O=$(BUILD)/native BPF_OUT=$(BUILD)/bpf

clean:
	rm -rf $(BUILD)
