# tests/campaign/: the fault-injection campaign (docs/dependability.md).
#   make campaign N=1000 [RESTART=snapshot] [NET=1] [SECS=3300]
#       run N trials (or as many as fit in SECS seconds), write
#       docs/campaign/RESTART[-net]/{report.md,recovery.png,campaign.jsonl}
#   RESTART=cold      nvme disk, cold boots (about 10-15 s per trial under TCG)
#   RESTART=snapshot  virtio-blk-pci disk, restore from the post-boot snapshot
#   NET=1             (root) the driver VM also owns an e1000 NIC, the client keeps TCP
#                     streams running through it, faults go to either driver
#   CAMPAIGN_OUT=DIR  write the report there instead (keeps an earlier run's report)
N ?= 1000
RESTART ?= cold
NET ?= 0
SECS ?= 0
CAMPAIGN_NAME := $(RESTART)$(if $(filter 1,$(NET)),-net)
CAMPAIGN_OUT ?= docs/campaign/$(CAMPAIGN_NAME)
.PHONY: campaign
campaign: all
	@mkdir -p $(BUILD)/campaign
	$(Q)CAMPAIGN_RESTART=$(RESTART) CAMPAIGN_NET=$(NET) CAMPAIGN_SECS=$(SECS) tests/campaign/campaign.sh $(N) $(BUILD)/campaign/campaign-$(CAMPAIGN_NAME).jsonl
	$(Q)tests/campaign/report.sh $(BUILD)/campaign/campaign-$(CAMPAIGN_NAME).jsonl $(CAMPAIGN_OUT)
