# Storage-fault test builds (issue 6): the broker and the daemon linked with
# tests/faults/fault_vfs.c, an SQLite VFS shim that fails writes, syncs or
# the disk on command (HARTSLAG_FAULT_FILE; tests/faults/README.md). Only
# these two binaries under $(BUILD)/tests/ carry it; the production
# binaries never link fault_vfs.o.
#
#   make -f Makefile -f mk/faults.mk faults-bins
#   make -f Makefile -f mk/faults.mk faults-test
#
# The top-level Makefile includes this file; the generic
# $(BUILD)/obj/%.o rule compiles tests/faults/fault_vfs.c.

FAULTS_OBJ := $(BUILD)/obj/tests/faults/fault_vfs.o
FAULTS_BINS := $(BUILD)/tests/hartslag-broker-faults $(BUILD)/tests/hartslagd-faults

.PHONY: faults-bins faults-test

faults-bins: $(FAULTS_BINS)

$(BUILD)/tests/hartslag-broker-faults: $(BROKER_OBJ) $(FAULTS_OBJ) $(LIBHARTSLAG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $(BROKER_OBJ) $(FAULTS_OBJ) $(LIBHARTSLAG) $(PKG_LIBS)

$(BUILD)/tests/hartslagd-faults: $(DAEMON_OBJ) $(FAULTS_OBJ) $(LIBHARTSLAG)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $(DAEMON_OBJ) $(FAULTS_OBJ) $(LIBHARTSLAG) $(PKG_LIBS)

# The fault tests exec the two binaries above (and the normal ones); the
# case conference suite runs the daemon's for a purge the disk fails.
$(BUILD)/tests/integration/test_storage_faults: | faults-bins
$(BUILD)/tests/integration/test_case_conference: | faults-bins

faults-test: all faults-bins $(BUILD)/tests/integration/test_storage_faults
	HARTSLAG_BIN=$(abspath $(BUILD)) HARTSLAG_SRC=$(CURDIR) \
	  $(BUILD)/tests/integration/test_storage_faults --jobs 2 --short-filename
