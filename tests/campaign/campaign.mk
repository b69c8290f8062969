# tests/campaign/: the fault-injection campaign (docs/dependability.md).
#   make campaign N=1000     run N trials, write docs/campaign/{report.md,recovery.png,
#                            campaign.jsonl}; about 10 s per trial under TCG
N ?= 1000
.PHONY: campaign
campaign: all
	@mkdir -p $(BUILD)/campaign
	$(Q)tests/campaign/campaign.sh $(N) $(BUILD)/campaign/campaign.jsonl
	$(Q)tests/campaign/report.sh $(BUILD)/campaign/campaign.jsonl docs/campaign
