// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ddvm_faultinj: inject a fault into an unmodified driver of the driver VM, in the
 * manner of the Nooks and MINIX 3 fault-injection campaigns. The supervisor triggers
 * it (`ddvm inject VM KIND`) by writing one line into the guest's console shell:
 *
 *   echo "KIND [BDF] [ARG]" > /sys/module/ddvm_faultinj/parameters/inject
 *
 * BDF names the PCI device whose driver is the victim (e.g. 0000:00:04.0 for nvme);
 * the module the driver lives in is found through the device (dev->driver->owner),
 * its private data through the device's drvdata. A virtio PCI function is bound to
 * the virtio-pci transport; its victim is the driver of the virtio device below it
 * (virtio_blk, virtio_net), whose private data is vdev->priv. Kinds:
 *
 *   panic       panic() now
 *   oops        redirect the driver's hot function (a kprobe on ARG, or the default for
 *               e1000/nvme) into a NULL dereference: an oops in the driver's context
 *   hang        interrupts off, spin forever (the vCPU is gone: heartbeat stalls)
 *   softirq     a tasklet that never returns (softirqs stop: timers, NAPI, heartbeat)
 *   wqhang      a work item that never sleeps on system_wq's pool: work queued behind
 *               it (the translation module's request work) stalls, timers keep going
 *   codeflip    flip ARG (default 1) random bits in the driver module's text
 *   datacorrupt flip ARG (default 8) random bits in the driver's private structure
 *   garbage     ARG (default 16) random 64-bit words into the channel's rings (ring
 *               control blocks and descriptors; BDF = the channel's ivshmem device,
 *               default the first one), as a driver VM gone mad would write them
 *
 * Every injection prints "DDVM-FAULTINJ kind=... detail" on the console first, so the
 * campaign log says exactly what was done. Text is written through a temporary
 * writable alias of its page (vmap), never by turning off write protection.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/kprobes.h>
#include <linux/interrupt.h>
#include <linux/pci.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/io.h>
#include <linux/workqueue.h>
#include <linux/delay.h>
#include <linux/virtio.h>
#include "ddvm/abi.h"

#define FI_IVSHMEM_VENDOR 0x1af4
#define FI_IVSHMEM_DEVICE 0x1110

static struct kprobe fi_kp;
static bool fi_kp_armed;
static DEFINE_MUTEX(fi_lock);

/* --- victims ------------------------------------------------------------------------ */

static struct pci_dev *fi_pci(const char *bdf)
{
	unsigned int dom, bus, slot, fn;

	if (!bdf || sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4)
		return NULL;
	return pci_get_domain_bus_and_slot(dom, bus, PCI_DEVFN(slot, fn));
}

/* A virtio device's PCI function is bound to virtio-pci, a transport with no I/O path
 * of its own; the driver that matters (virtio_blk, virtio_net) is bound to the virtio
 * device below it. */
static int fi_is_virtio_child(struct device *dev, void *unused)
{
	return dev->bus && !strcmp(dev->bus->name, "virtio") && dev->driver;
}

/* The device whose driver is the victim of PDEV (with a reference): the PCI device
 * itself or, for virtio, its bound virtio device. */
static struct device *fi_victim_dev(struct pci_dev *pdev)
{
	struct device *child = device_find_child(&pdev->dev, NULL, fi_is_virtio_child);

	return child ? child : get_device(&pdev->dev);
}

/* The module of the driver bound to DEV, with a reference, or NULL. */
static struct module *fi_driver_module(struct device *dev)
{
	struct module *mod = NULL;

	device_lock(dev);
	if (dev->driver && dev->driver->owner && try_module_get(dev->driver->owner))
		mod = dev->driver->owner;
	device_unlock(dev);
	return mod;
}

/* The driver's private structure of DEV: a virtio driver keeps it in vdev->priv, a
 * PCI driver in the device's drvdata. */
static void *fi_driver_data(struct device *dev)
{
	if (dev->bus && !strcmp(dev->bus->name, "virtio"))
		return dev_to_virtio(dev)->priv;
	return dev_get_drvdata(dev);
}

/* --- the faults ----------------------------------------------------------------------- */

static noinline void fi_oops_here(void)
{
	pr_emerg("DDVM-FAULTINJ oops: NULL dereference in the driver's context\n");
	*(volatile unsigned long *)(unsigned long)(get_random_u32() & 0xff) = 0xdead;
}

/* Redirect the probed function into fi_oops_here: it runs on the driver's stack, in
 * the driver's context (irq, softirq or process), with the driver's locks held. */
static int fi_kp_pre(struct kprobe *p, struct pt_regs *regs)
{
	regs->ip = (unsigned long)fi_oops_here;
	return 1; /* we changed ip: skip single-stepping the original instruction */
}

static int fi_oops(struct pci_dev *pdev, const char *sym)
{
	struct device *dev = pdev ? fi_victim_dev(pdev) : NULL;
	const char *drv = dev && dev->driver ? dev->driver->name : "";
	int err;

	if (!sym || !*sym) {
		if (!strcmp(drv, "e1000"))
			sym = "e1000_clean";
		else if (!strcmp(drv, "nvme"))
			sym = "nvme_queue_rq";
		else if (!strcmp(drv, "virtio_blk"))
			sym = "virtio_queue_rq";
		else if (!strcmp(drv, "virtio_net"))
			sym = "virtnet_poll";
		else
			sym = "";
	}
	if (dev)
		put_device(dev);
	if (!*sym) {
		pr_emerg(
		    "DDVM-FAULTINJ kind=oops no hot function known for '%s': in process context\n",
		    drv);
		fi_oops_here();
		return 0;
	}
	if (fi_kp_armed)
		return -EBUSY;
	memset(&fi_kp, 0, sizeof(fi_kp));
	fi_kp.symbol_name = sym;
	fi_kp.pre_handler = fi_kp_pre;
	err = register_kprobe(&fi_kp);
	if (err) {
		pr_emerg("DDVM-FAULTINJ kind=oops cannot probe %s (%d)\n", sym, err);
		return err;
	}
	fi_kp_armed = true;
	pr_emerg("DDVM-FAULTINJ kind=oops armed on %s (driver %s)\n", sym, drv);
	return 0;
}

static void fi_hang(void)
{
	pr_emerg("DDVM-FAULTINJ kind=hang interrupts off, spinning\n");
	local_irq_disable();
	for (;;)
		cpu_relax();
}

static void fi_softirq_fn(struct tasklet_struct *t)
{
	for (;;)
		cpu_relax();
}
static DECLARE_TASKLET(fi_tasklet, fi_softirq_fn);

static void fi_wq_fn(struct work_struct *w)
{
	for (;;) {
		cpu_relax();
		cond_resched(); /* never sleeps: the pool runs nothing else */
	}
}
static DECLARE_WORK(fi_work, fi_wq_fn);

/* Flip one bit at ADDR inside a vmalloc'ed (module) mapping through a writable alias. */
static int fi_flip_text(unsigned long addr, unsigned int bit)
{
	struct page *page = vmalloc_to_page((void *)addr);
	u8 *alias;

	if (!page)
		return -EFAULT;
	alias = vmap(&page, 1, VM_MAP, PAGE_KERNEL);
	if (!alias)
		return -ENOMEM;
	alias[offset_in_page(addr)] ^= 1u << bit;
	vunmap(alias);
	return 0;
}

static int fi_codeflip(struct pci_dev *pdev, unsigned int n)
{
	struct device *dev = fi_victim_dev(pdev);
	struct module *mod = fi_driver_module(dev);
	unsigned long base, size;
	unsigned int i;
	int err = 0;

	put_device(dev);
	if (!mod)
		return -ENODEV;
	base = (unsigned long)mod->core_layout.base;
	size = mod->core_layout.text_size;
	for (i = 0; i < n && !err; i++) {
		unsigned long off = get_random_u32() % size;
		unsigned int bit = get_random_u32() % 8;

		pr_emerg("DDVM-FAULTINJ kind=codeflip module=%s text+%#lx bit %u (%pS)\n",
			 mod->name, off, bit, (void *)(base + off));
		err = fi_flip_text(base + off, bit);
	}
	module_put(mod);
	return err;
}

static int fi_datacorrupt(struct pci_dev *pdev, unsigned int n)
{
	struct device *dev = fi_victim_dev(pdev);
	struct module *mod = fi_driver_module(dev);
	void *data = fi_driver_data(dev);
	size_t size;
	unsigned int i;

	put_device(dev);
	if (!mod)
		return -ENODEV;
	/* ksize() needs a slab object: drvdata inside a vmalloc'ed netdev is not one */
	if (!data || is_vmalloc_addr(data)) {
		module_put(mod);
		return -ENODEV;
	}
	size = ksize(data);
	for (i = 0; i < n; i++) {
		size_t off = get_random_u32() % size;
		unsigned int bit = get_random_u32() % 8;

		pr_emerg("DDVM-FAULTINJ kind=datacorrupt driver=%s drvdata+%#zx/%#zx bit %u\n",
			 mod->name, off, size, bit);
		((u8 *)data)[off] ^= 1u << bit;
	}
	module_put(mod);
	return 0;
}

static int fi_garbage(struct pci_dev *pdev, unsigned int n)
{
	struct ddvm_ring_layout rings[DDVM_MAX_RINGS];
	u32 magic, num_rings;
	resource_size_t len;
	void __iomem *bar;
	unsigned int i, r, tries;

	if (!pdev)
		pdev = pci_get_device(FI_IVSHMEM_VENDOR, FI_IVSHMEM_DEVICE, NULL);
	else if (pdev->vendor == FI_IVSHMEM_VENDOR && pdev->device == FI_IVSHMEM_DEVICE)
		pci_dev_get(pdev);
	else
		return -ENODEV; /* not a channel: its BAR2 is somebody else's */
	if (!pdev)
		return -ENODEV;
	len = pci_resource_len(pdev, 2);
	bar = len >= DDVM_HDR_SIZE ? ioremap(pci_resource_start(pdev, 2), len) : NULL;
	if (!bar) {
		pci_dev_put(pdev);
		return -ENODEV;
	}
	magic = readl(bar + offsetof(struct ddvm_region_hdr, magic));
	num_rings = readl(bar + offsetof(struct ddvm_region_hdr, num_rings));
	memcpy_fromio(rings, bar + offsetof(struct ddvm_region_hdr, rings), sizeof(rings));
	if (magic != DDVM_MAGIC || !num_rings || num_rings > DDVM_MAX_RINGS) {
		iounmap(bar);
		pci_dev_put(pdev);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		for (tries = 0; tries < 16; tries++) {
			const struct ddvm_ring_layout *l;
			u64 span, off;

			r = get_random_u32() % num_rings;
			l = &rings[r];
			span = DDVM_RING_BYTES(l->entries);
			if (!l->entries || l->ring_off + span > len)
				continue;
			off = l->ring_off + (get_random_u32() % span & ~7ull);
			pr_emerg("DDVM-FAULTINJ kind=garbage %s ring %u +%#llx\n", pci_name(pdev),
				 r, off - l->ring_off);
			writeq(get_random_u64(), bar + off);
			break;
		}
	}
	iounmap(bar);
	pci_dev_put(pdev);
	return 0;
}

/* --- the trigger -------------------------------------------------------------------- */

static int fi_inject(const char *val, const struct kernel_param *kp)
{
	char buf[96], *p = buf, *kind, *bdf, *arg;
	struct pci_dev *pdev;
	unsigned int n = 0;
	int err = 0;

	strscpy(buf, val, sizeof(buf));
	kind = strsep(&p, " \t\n");
	bdf = strsep(&p, " \t\n");
	arg = strsep(&p, " \t\n");
	if (arg && *arg && kstrtouint(arg, 0, &n))
		n = 0;
	pdev = fi_pci(bdf);
	mutex_lock(&fi_lock);
	pr_emerg("DDVM-FAULTINJ inject %s %s %s\n", kind, bdf ? bdf : "-", arg ? arg : "-");
	if (!strcmp(kind, "panic")) {
		panic("DDVM-FAULTINJ kind=panic");
	} else if (!strcmp(kind, "oops")) {
		err = fi_oops(pdev, arg);
	} else if (!strcmp(kind, "hang")) {
		fi_hang();
	} else if (!strcmp(kind, "softirq")) {
		pr_emerg("DDVM-FAULTINJ kind=softirq endless tasklet\n");
		tasklet_schedule(&fi_tasklet);
	} else if (!strcmp(kind, "wqhang")) {
		pr_emerg("DDVM-FAULTINJ kind=wqhang endless work item on system_wq\n");
		schedule_work(&fi_work);
	} else if (!strcmp(kind, "codeflip")) {
		err = pdev ? fi_codeflip(pdev, n ? n : 1) : -ENODEV;
	} else if (!strcmp(kind, "datacorrupt")) {
		err = pdev ? fi_datacorrupt(pdev, n ? n : 8) : -ENODEV;
	} else if (!strcmp(kind, "garbage")) {
		err = fi_garbage(pdev, n ? n : 16);
	} else {
		err = -EINVAL;
	}
	mutex_unlock(&fi_lock);
	if (pdev)
		pci_dev_put(pdev);
	pr_emerg("DDVM-FAULTINJ done %s err=%d\n", kind, err);
	return err;
}

static const struct kernel_param_ops fi_inject_ops = {
	.set = fi_inject,
};
module_param_cb(inject, &fi_inject_ops, NULL, 0200);
MODULE_PARM_DESC(inject, "write \"KIND [BDF] [ARG]\" to inject a fault (see the source)");

static void __exit fi_exit(void)
{
	if (fi_kp_armed)
		unregister_kprobe(&fi_kp);
}
static int __init fi_init(void)
{
	return 0;
}
module_init(fi_init);
module_exit(fi_exit);

MODULE_DESCRIPTION("ddvm fault injection into a driver VM's unmodified drivers");
MODULE_LICENSE("Dual BSD/GPL");
