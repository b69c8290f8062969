// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Guest-side ivshmem transport for ddvm kernel modules (see ddvm_ivshmem.h).
 * Compiled into each module through a one-line wrapper, like ring.c and region.c.
 */
#include <linux/module.h>
#include <linux/io.h>
#include <linux/etherdevice.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "ddvm_ivshmem.h"

#define IVSHMEM_INTRMASK   0
#define IVSHMEM_INTRSTATUS 4
#define IVSHMEM_IVPOSITION 8
#define IVSHMEM_DOORBELL   12

/* Off only to measure what the guard is for (the storm's cost without it). */
static bool doorbell_guard = true;
module_param(doorbell_guard, bool, 0644);
MODULE_PARM_DESC(doorbell_guard, "limit a peer's doorbells that bring no work (default on)");

/*
 * Driver VM: the channels the supervisor gave this VM, one array element per channel
 * (elements separated by ','), each "BDF;KIND;TARGET;QUEUES;LAYOUT[;MAC[;ANTISPOOF]]"
 * (images/init.sh builds it from fw_cfg opt/ddvm/channels and passes it to each translation module,
 * also for a later modprobe through /etc/modprobe.d). KIND is net or blk; TARGET the
 * PCI address of the NIC or of the disk's controller; QUEUES the channel's queue
 * pairs, from which with KIND the region's layout follows (ddvm_layout_defaults(), as
 * the supervisor laid it out), and LAYOUT that layout's fingerprint in hex
 * (ddvm_layout_id(): a module whose own computation differs refuses the channel);
 * MAC the client's, net only;
 * ANTISPOOF, net only, what the client may send as its own ("off", "mac" or
 * "ip:PREFIX+...", netback.h). An array, not one string: the kernel takes at most 1024
 * bytes for a string parameter, which one list of ~20 channels (fewer with address
 * lists) would pass, and the module would not load at all; an element has that much.
 */
#define DDVM_MAX_CHANNEL_LIST 64 /* the supervisor's CFG_MAX_CHANNELS */
static char *channels[DDVM_MAX_CHANNEL_LIST];
static unsigned int nr_channels;
module_param_array(channels, charp, &nr_channels, 0444);
MODULE_PARM_DESC(
    channels, "the supervisor's channel list: BDF;KIND;TARGET;QUEUES;LAYOUT[;MAC[;ANTISPOOF]],... "
	      "(set by the driver VM's /init)");

/* Look BDF up in `channels`: 1 and the identity in T when listed with KIND, 0 when
 * listed with another kind or not at all, -ENODATA when there is no list. */
static int ddvm_ivshmem_identity(struct ddvm_ivshmem *t, const char *bdf, u32 kind)
{
	unsigned int i;
	int ret = 0;

	if (!nr_channels)
		return -ENODATA;
	for (i = 0; i < nr_channels && !ret; i++) {
		char *entry = kstrdup(channels[i] ? channels[i] : "", GFP_KERNEL), *rest = entry;
		char *f_bdf, *f_kind, *f_target, *f_queues, *f_layout, *f_mac, *f_spoof;
		u32 k;

		if (!entry)
			return -ENOMEM;
		f_bdf = strsep(&rest, ";");
		f_kind = strsep(&rest, ";");
		f_target = strsep(&rest, ";");
		f_queues = strsep(&rest, ";");
		f_layout = strsep(&rest, ";");
		f_mac = strsep(&rest, ";");
		f_spoof = strsep(&rest, ";");
		if (!f_bdf || strcmp(f_bdf, bdf) || !f_kind || !f_target) {
			kfree(entry);
			continue;
		}
		k = !strcmp(f_kind, "net")   ? DDVM_KIND_NET
		    : !strcmp(f_kind, "blk") ? DDVM_KIND_BLK
					     : DDVM_KIND_NONE;
		if (k != kind) {
			kfree(entry);
			break; /* another module's channel */
		}
		if (strscpy(t->id_target, f_target, sizeof(t->id_target)) < 0 || !f_queues ||
		    kstrtou32(f_queues, 10, &t->id_queues) || !f_layout ||
		    kstrtou32(f_layout, 16, &t->id_layout) ||
		    (kind == DDVM_KIND_NET && (!f_mac || !mac_pton(f_mac, t->id_mac))) ||
		    strscpy(t->id_antispoof, f_spoof ? f_spoof : "", sizeof(t->id_antispoof)) < 0 ||
		    rest) {
			pr_err("ddvm: channels entry for %s is malformed (a supervisor of another "
			       "ddvm build?)\n",
			       bdf);
			ret = -EINVAL;
		} else {
			t->has_identity = true;
			ret = 1;
		}
		kfree(entry);
	}
	return ret;
}

/* What the peer has published for vector V: the indices it writes of the rings that
 * use V (prod of a ring it produces, cons of one we produce), folded into one word. */
static u32 ddvm_ivshmem_peer_sig(const struct ddvm_ivshmem *t, unsigned int v)
{
	const struct ddvm_region *rg = &t->rg;
	u16 peer = t->side == DDVM_SIDE_BACKEND ? DDVM_SIDE_FRONTEND : DDVM_SIDE_BACKEND;
	u32 sig = 0;
	unsigned int i;

	for (i = 0; i < rg->num_rings; i++) {
		const struct ddvm_ring_layout *l = &rg->rings[i]; /* private, validated */
		struct ddvm_ring_ctl *c;

		if (l->vector != v)
			continue;
		c = (struct ddvm_ring_ctl *)(rg->base + l->ring_off);
		sig = sig * 31 + ddvm_read32(l->producer == peer ? &c->prod : &c->cons);
	}
	return sig;
}

static void ddvm_ivshmem_guard_timer(struct timer_list *tl);

/*
 * Before the vectors go: no doorbell arms the guard's timer again (it would fire after
 * the memory holding it is freed: it is in the driver's own struct), the timer is
 * stopped, and what the guard turned off is on again (free_irq of a vector that
 * disable_irq_nosync left off would leave it unbalanced).
 */
static void ddvm_ivshmem_guard_close(struct ddvm_ivshmem *t)
{
	spin_lock_irq(&t->guard_lock);
	t->guard_closing = true;
	spin_unlock_irq(&t->guard_lock);
	del_timer_sync(&t->guard_timer);
	ddvm_ivshmem_guard_timer(&t->guard_timer);
}

static void ddvm_ivshmem_guard_timer(struct timer_list *tl)
{
	struct ddvm_ivshmem *t = from_timer(t, tl, guard_timer);
	unsigned long flags;
	int v;

	spin_lock_irqsave(&t->guard_lock, flags);
	for (v = 0; v < t->nvec; v++) {
		if (!t->guard[v].off)
			continue;
		t->guard[v].off = false;
		enable_irq(t->irq[v]); /* replays a doorbell held meanwhile */
	}
	spin_unlock_irqrestore(&t->guard_lock, flags);
}

/* Count doorbell V against the guard; true when V has just been turned off. */
static bool ddvm_ivshmem_guard(struct ddvm_ivshmem *t, int v, int irq)
{
	struct ddvm_doorbell_guard *g = &t->guard[v];
	bool control = v == DDVM_VECTOR_CONTROL;
	u32 sig = control ? 0 : ddvm_ivshmem_peer_sig(t, v);
	bool (*serving)(struct ddvm_ivshmem * t) = READ_ONCE(t->serving);
	bool off = false;
	unsigned long now = jiffies;
	int u;

	spin_lock(&t->guard_lock);
	if (t->guard_closing) {
		spin_unlock(&t->guard_lock);
		return false;
	}
	if (time_after_eq(now, t->guard_window_end)) {
		t->guard_window_end = now + msecs_to_jiffies(DDVM_DOORBELL_WINDOW_MS);
		for (u = 0; u < t->nvec; u++)
			t->guard[u].idle = 0;
	}
	if (control || sig == g->sig || (serving && !serving(t)))
		g->idle++;
	g->sig = sig;
	if (!g->off && g->idle > (control ? DDVM_DOORBELL_CTL_MAX : DDVM_DOORBELL_IDLE_MAX)) {
		g->off = off = true;
		t->doorbells_throttled++;
		disable_irq_nosync(irq);
		mod_timer(&t->guard_timer, t->guard_window_end);
	}
	spin_unlock(&t->guard_lock);
	if (off)
		dev_warn_ratelimited(&t->pdev->dev,
				     "ddvm: vector %d rung without work over %u "
				     "times in %u ms: vector off until the window ends "
				     "(%llu times so far)\n",
				     v, control ? DDVM_DOORBELL_CTL_MAX : DDVM_DOORBELL_IDLE_MAX,
				     DDVM_DOORBELL_WINDOW_MS, t->doorbells_throttled);
	return off;
}

static irqreturn_t ddvm_ivshmem_irq(int irq, void *data)
{
	struct ddvm_ivshmem *t = data;
	int v;

	for (v = 0; v < t->nvec; v++)
		if (t->irq[v] == irq)
			break;
	if (v == t->nvec)
		return IRQ_NONE;
	atomic64_inc(&t->doorbells_in);
	/* a warm spare's device: before the supervisor made it the driver VM's, nobody
	 * else could ring it (abi.h, "Peer ids"), so this is the supervisor naming it */
	if (v == DDVM_VECTOR_CONTROL && t->side == DDVM_SIDE_BACKEND)
		WRITE_ONCE(t->named, true);
	/* a doorbell past the limit still gets its pass: the next ones wait */
	if (READ_ONCE(doorbell_guard))
		ddvm_ivshmem_guard(t, v, irq);
	if (t->irq_fn)
		t->irq_fn(t, v);
	return IRQ_HANDLED;
}

int ddvm_ivshmem_probe(struct ddvm_ivshmem *t, struct pci_dev *pdev, enum ddvm_side side, u32 kind,
		       ddvm_ivshmem_irq_fn fn, void *priv)
{
	int err, v;

	memset(t, 0, sizeof(*t));
	t->pdev = pdev;
	t->side = side;
	t->irq_fn = fn;
	t->priv = priv;
	snprintf(t->name, sizeof(t->name), "ddvm-%s", pci_name(pdev));
	spin_lock_init(&t->guard_lock);
	t->guard_closing = false;
	timer_setup(&t->guard_timer, ddvm_ivshmem_guard_timer, 0);

	err = pci_enable_device(pdev);
	if (err)
		return err;
	err = pci_request_regions(pdev, t->name);
	if (err)
		goto out_disable;
	t->regs = pci_iomap(pdev, 0, 0x100);
	if (!t->regs) {
		err = -ENOMEM;
		goto out_regions;
	}
	t->shm_size = pci_resource_len(pdev, 2);
	if (t->shm_size < DDVM_HDR_SIZE) {
		err = -ENODEV;
		goto out_unmap_regs;
	}
	/* Plain RAM on the host side: map it cacheable, like any memory we share. */
	t->shm = memremap(pci_resource_start(pdev, 2), t->shm_size, MEMREMAP_WB);
	if (!t->shm) {
		err = -ENOMEM;
		goto out_unmap_regs;
	}
	if (side == DDVM_SIDE_BACKEND) {
		/* the supervisor's list, not the header, says whose channel this is */
		err = ddvm_ivshmem_identity(t, pci_name(pdev), kind);
		if (err == 0) {
			err = -ENODEV; /* listed for another kind, or not ours */
			goto out_unmap_shm;
		}
		if (err < 0 && err != -ENODATA)
			goto out_unmap_shm;
	}
	if (t->has_identity) {
		/* ... and how the region is laid out: the client may be writing garbage
		 * over the header right now (it hurts itself; the supervisor writes the
		 * header back at its next session, and the channel must still be ours) */
		struct ddvm_layout_params lp;

		ddvm_layout_defaults(&lp, kind);
		lp.num_queues = t->id_queues;
		if (ddvm_layout_id(&lp) != t->id_layout) {
			/* the supervisor computed another layout: our defaults are not its */
			dev_err(&pdev->dev,
				"ddvm: the supervisor laid this channel out otherwise (layout "
				"%08x, ours %08x for %u queue pairs): a driver image of another "
				"ddvm build? not served\n",
				t->id_layout, ddvm_layout_id(&lp), t->id_queues);
			err = -ENODEV;
			goto out_unmap_shm;
		}
		err = ddvm_region_attach_params(&t->rg, t->shm, t->shm_size, &lp);
		if (err) {
			dev_err(&pdev->dev,
				"ddvm: the listed layout (%u queue pairs) does not fit BAR2 "
				"(%llu bytes): not served\n",
				t->id_queues, (unsigned long long)t->shm_size);
			err = -ENODEV;
			goto out_unmap_shm;
		}
	} else {
		err = ddvm_region_attach(&t->rg, t->shm, t->shm_size);
		if (err) {
			dev_info(&pdev->dev, "ddvm: no valid ddvm region in BAR2 (%d)\n", err);
			err = -ENODEV;
			goto out_unmap_shm;
		}
		if (t->rg.kind != kind) {
			err = -ENODEV; /* another ddvm service's device */
			goto out_unmap_shm;
		}
	}
	t->my_peer = readl(t->regs + IVSHMEM_IVPOSITION);

	err = pci_alloc_irq_vectors(pdev, 1, DDVM_MAX_VECTORS, PCI_IRQ_MSIX);
	if (err < 0) {
		dev_err(&pdev->dev, "ddvm: no MSI-X vectors (%d): use ivshmem-doorbell\n", err);
		goto out_unmap_shm;
	}
	t->nvec = err;
	if (t->nvec < 1 + (int)t->rg.num_queues) {
		dev_err(&pdev->dev, "ddvm: %d vectors, need %u: give the device vectors=%d\n",
			t->nvec, 1 + t->rg.num_queues, DDVM_MAX_VECTORS);
		err = -ENODEV;
		goto out_vectors;
	}
	for (v = 0; v < t->nvec; v++) {
		err = pci_irq_vector(pdev, v);
		if (err < 0)
			goto out_vectors;
		t->irq[v] = err;
	}
	for (v = 0; v < t->nvec; v++) {
		err = request_irq(t->irq[v], ddvm_ivshmem_irq, 0, t->name, t);
		if (err)
			goto out_irqs;
	}
	/* Without bus mastering QEMU silently drops the MSI-X writes (TCG). */
	pci_set_master(pdev);
	return 0;

out_irqs:
	ddvm_ivshmem_guard_close(t);
	while (--v >= 0)
		free_irq(t->irq[v], t);
out_vectors:
	pci_free_irq_vectors(pdev);
out_unmap_shm:
	memunmap(t->shm);
out_unmap_regs:
	pci_iounmap(pdev, t->regs);
out_regions:
	pci_release_regions(pdev);
out_disable:
	pci_disable_device(pdev);
	return err;
}

void ddvm_ivshmem_remove(struct ddvm_ivshmem *t)
{
	int v;

	ddvm_ivshmem_guard_close(t);
	for (v = 0; v < t->nvec; v++)
		free_irq(t->irq[v], t);
	pci_free_irq_vectors(t->pdev);
	pci_clear_master(t->pdev);
	memunmap(t->shm);
	pci_iounmap(t->pdev, t->regs);
	pci_release_regions(t->pdev);
	pci_disable_device(t->pdev);
}

#ifdef CONFIG_ZONE_DEVICE
int ddvm_ivshmem_map_pages(struct ddvm_ivshmem *t)
{
	resource_size_t bar = pci_resource_start(t->pdev, 2);
	resource_size_t used = 0, start = ALIGN(bar, SZ_2M), end;
	unsigned int i;
	void *va;

	/* Pages only as far as the payload slots go (the validated private layout): the
	 * BAR is the region rounded up to a power of two, and every struct page is
	 * initialised at every probe, i.e. after every restore of the driver VM (the whole
	 * 64 MiB BAR of a blk channel took 27-41 ms under TCG; its slots are 34 MiB). */
	for (i = 0; i < t->rg.num_rings; i++) {
		const struct ddvm_ring_layout *l = &t->rg.rings[i];

		if (l->data_size)
			used = max_t(resource_size_t, used,
				     (resource_size_t)l->data_off + l->data_size);
	}
	end = min(ALIGN(bar + used, SZ_2M), ALIGN_DOWN(bar + t->shm_size, SZ_2M));
	if (end <= start)
		return -ERANGE; /* no payload, or no 2 MiB-aligned subsection in the BAR */
	memset(&t->pgmap, 0, sizeof(t->pgmap));
	t->pgmap.type = MEMORY_DEVICE_GENERIC;
	t->pgmap.range.start = start;
	t->pgmap.range.end = end - 1;
	t->pgmap.nr_range = 1;
	va = memremap_pages(&t->pgmap, dev_to_node(&t->pdev->dev));
	if (IS_ERR(va))
		return PTR_ERR(va);
	t->pages_start = start - bar;
	t->pages_end = end - bar;
	return 0;
}

void ddvm_ivshmem_unmap_pages(struct ddvm_ivshmem *t)
{
	if (t->pages_end == t->pages_start)
		return;
	t->pages_start = t->pages_end = 0;
	memunmap_pages(&t->pgmap);
}
#else
int ddvm_ivshmem_map_pages(struct ddvm_ivshmem *t)
{
	return -EOPNOTSUPP;
}

void ddvm_ivshmem_unmap_pages(struct ddvm_ivshmem *t)
{
}
#endif

bool ddvm_ivshmem_standby(struct ddvm_ivshmem *t)
{
	return t->side == DDVM_SIDE_BACKEND && DDVM_PEER_IS_SPARE(t->my_peer) &&
	       !READ_ONCE(t->named);
}

void ddvm_ivshmem_standby_prepared(struct ddvm_ivshmem *t)
{
	if (t->standby_told)
		return;
	t->standby_told = true;
	/* at error level: driver VMs boot "quiet", and the supervisor reads the console
	 * for this line; it is not an error */
	dev_err(&t->pdev->dev,
		"ddvm: standby: this device is a warm spare's (peer %u); prepared, serving "
		"nothing until the supervisor names it\n",
		t->my_peer);
}

u16 ddvm_ivshmem_peer(struct ddvm_ivshmem *t)
{
	const struct ddvm_region_hdr *h = t->rg.hdr;

	return t->side == DDVM_SIDE_BACKEND ? READ_ONCE(h->frontend_peer)
					    : READ_ONCE(h->backend_peer);
}

void ddvm_ivshmem_kick(struct ddvm_ivshmem *t, unsigned int vector)
{
	u16 peer = ddvm_ivshmem_peer(t);

	/* the header's frontend_peer is the client's to write: ring only a client's or a
	 * host tool's id, never the supervisor's private peer (abi.h, "Peer ids") */
	if (t->side == DDVM_SIDE_BACKEND && !DDVM_PEER_IS_CLIENT(peer))
		return;
	atomic64_inc(&t->doorbells_out);
	writel(((u32)peer << 16) | (vector & 0xffff), t->regs + IVSHMEM_DOORBELL);
}

void ddvm_ivshmem_health(struct ddvm_ivshmem *t)
{
	writel((u32)DDVM_PEER_SUPERVISOR << 16, t->regs + IVSHMEM_DOORBELL);
}
