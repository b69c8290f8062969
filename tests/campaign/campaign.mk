# tests/campaign/: the fault-injection campaign (docs/dependability.md).
#   make campaign N=1000 [RESTART=snapshot] [SECS=3300]
#       run N trials (or as many as fit in SECS seconds), write
#       docs/campaign/RESTART/{report.md,recovery.png,campaign.jsonl}
#   RESTART=cold      nvme disk, cold boots (about 10-15 s per trial under TCG)
#   RESTART=snapshot  virtio-blk-pci disk, restore from the post-boot snapshot
N ?= 1000
RESTART ?= cold
SECS ?= 0
.PHONY: campaign
campaign: all
	@mkdir -p $(BUILD)/campaign
	$(Q)CAMPAIGN_RESTART=$(RESTART) CAMPAIGN_SECS=$(SECS) tests/campaign/campaign.sh $(N) $(BUILD)/campaign/campaign-$(RESTART).jsonl
	$(Q)tests/campaign/report.sh $(BUILD)/campaign/campaign-$(RESTART).jsonl docs/campaign/$(RESTART)
