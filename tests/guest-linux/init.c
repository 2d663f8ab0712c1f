// SPDX-License-Identifier: GPL-2.0
/*
 * PID 1 of the Linux test guest: drives the kernel's own virtio_net through
 * a packet socket the way tests/guest drives the NIC by hand.  It sends
 * numbered frames (../guest/frame.h) one at a time to its own MAC, checks
 * every echo (vdpa_sim_net loops TX to RX, and its receive filter passes a
 * unicast frame only if the device has that MAC), and prints the counters
 * on the console every period.  See README.md for options and commands.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <linux/input.h>
#include <linux/reboot.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"

#define ETHERTYPE	0x88b5
#define ECHO_TIMEOUT_MS	100
#define IFNAME		"eth0"
#define CONTROL_TTY	"/dev/ttyS1"
#define MAX_INPUTS	8

static unsigned int period_ms = 100;	/* between two counter lines */
static unsigned int rebind_every;	/* frames between driver rebinds */
static uint8_t wanted_mac[6];		/* set through the CVQ, if have_mac */
static int have_mac;

static int sock = -1;			/* packet socket on IFNAME */
static uint8_t mac[6];			/* IFNAME's address: src and dst */
static struct traffic traffic = { .dst = mac, .src = mac };
static uint64_t rebinds;
static uint64_t t0_ms, next_tick_ms;

static int control = -1;		/* CONTROL_TTY, commands from the host */
static char control_line[64];
static size_t control_len;
static char pending[64];		/* a command, run between two frames */
static int inputs[MAX_INPUTS];		/* evdev nodes: the power button */
static int ninputs;

/* -- output ---------------------------------------------------------------- */

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("qvp-guest: ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

/* A fatal problem: say so, then idle (PID 1 must not exit). */
static void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("qvp-guest: error ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
	for (;;)
		pause();
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A counter line every period_ms; ticks missed by a slow host are skipped. */
static void tick(void)
{
	uint64_t now = now_ms();

	if (now < next_tick_ms)
		return;
	while (next_tick_ms <= now)
		next_tick_ms += period_ms;
	say("t=%llu sent=%llu recv=%llu corrupt=%llu ooo=%llu lost=%llu resets=%llu",
	    (unsigned long long)(now - t0_ms),
	    (unsigned long long)traffic.sent, (unsigned long long)traffic.recv,
	    (unsigned long long)traffic.corrupt, (unsigned long long)traffic.ooo,
	    (unsigned long long)traffic.lost, (unsigned long long)rebinds);
}

/* -- options --------------------------------------------------------------- */

static int parse_mac(const char *s, uint8_t *m)
{
	unsigned int b[6];
	char end;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &end) != 6)
		return -1;
	for (i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -1;
		m[i] = b[i];
	}
	return 0;
}

static unsigned int parse_uint(const char *opt, const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT_MAX)
		fatal("bad number in option %s", opt);
	return v;
}

/* Options are qvp.KEY=VALUE words of the kernel command line. */
static void parse_cmdline(void)
{
	char buf[4096], *tok, *save;
	FILE *f = fopen("/proc/cmdline", "r");

	if (!f || !fgets(buf, sizeof(buf), f))
		fatal("cannot read /proc/cmdline: %s", strerror(errno));
	fclose(f);
	for (tok = strtok_r(buf, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save)) {
		if (strncmp(tok, "qvp.", 4))
			continue;
		if (!strncmp(tok, "qvp.period_ms=", 14)) {
			period_ms = parse_uint(tok, tok + 14);
			if (!period_ms)
				fatal("period_ms must be > 0: %s", tok);
		} else if (!strncmp(tok, "qvp.rebind_every=", 17)) {
			rebind_every = parse_uint(tok, tok + 17);
		} else if (!strncmp(tok, "qvp.mac=", 8)) {
			if (parse_mac(tok + 8, wanted_mac))
				fatal("bad MAC in option %s", tok);
			have_mac = 1;
		} else {
			fatal("unknown option %s", tok);
		}
	}
}

/* -- the NIC ----------------------------------------------------------------- */

static int if_ioctl(unsigned long req, struct ifreq *ifr)
{
	strncpy(ifr->ifr_name, IFNAME, IFNAMSIZ - 1);
	return ioctl(sock, req, ifr);
}

static void read_mac(void)
{
	struct ifreq ifr = { 0 };

	if (if_ioctl(SIOCGIFHWADDR, &ifr))
		fatal("SIOCGIFHWADDR: %s", strerror(errno));
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
}

/* Through the control virtqueue: virtio_net sends VIRTIO_NET_CTRL_MAC_ADDR_SET. */
static void set_mac(const uint8_t *m)
{
	struct ifreq ifr = { 0 };

	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, m, 6);
	if (if_ioctl(SIOCSIFHWADDR, &ifr))
		fatal("SIOCSIFHWADDR: %s", strerror(errno));
	read_mac();
	say("mac=%02x:%02x:%02x:%02x:%02x:%02x",
	    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

/* The virtio device under IFNAME ("virtio0"), for the driver's sysfs files. */
static void virtio_name(char *name, size_t size)
{
	char link[PATH_MAX];
	ssize_t n = readlink("/sys/class/net/" IFNAME "/device", link,
			     sizeof(link) - 1);

	if (n < 0)
		fatal("no virtio device under " IFNAME ": %s", strerror(errno));
	link[n] = 0;
	snprintf(name, size, "%s", basename(link));
}

/* Negotiated features: sysfs gives one '0'/'1' per bit, bit 0 first. */
static unsigned long long features(const char *dev)
{
	char path[128], bits[129] = "";
	unsigned long long f = 0;
	FILE *fp;
	int i;

	snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s/features", dev);
	fp = fopen(path, "r");
	if (fp) {
		if (!fgets(bits, sizeof(bits), fp))
			bits[0] = 0;
		fclose(fp);
	}
	for (i = 0; i < 64 && (bits[i] == '0' || bits[i] == '1'); i++)
		if (bits[i] == '1')
			f |= 1ULL << i;
	return f;
}

/* Wait for IFNAME (a driver bind creates it), open a socket on it, bring it up. */
static void nic_open(void)
{
	struct sockaddr_ll sll = { 0 };
	struct ifreq ifr = { 0 };
	uint64_t deadline = now_ms() + 30000;
	int one = 1;

	while (access("/sys/class/net/" IFNAME, F_OK)) {
		if (now_ms() > deadline)
			fatal("no " IFNAME " after 30 s");
		usleep(10000);
	}
	sock = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		      htons(ETHERTYPE));
	if (sock < 0)
		fatal("packet socket: %s", strerror(errno));
	/* Our own TX frames are not echoes */
	if (setsockopt(sock, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
		       sizeof(one)))
		fatal("PACKET_IGNORE_OUTGOING: %s", strerror(errno));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETHERTYPE);
	sll.sll_ifindex = if_nametoindex(IFNAME);
	if (bind(sock, (struct sockaddr *)&sll, sizeof(sll)))
		fatal("bind to " IFNAME ": %s", strerror(errno));
	if (if_ioctl(SIOCGIFFLAGS, &ifr))
		fatal("SIOCGIFFLAGS: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (if_ioctl(SIOCSIFFLAGS, &ifr))
		fatal("bringing " IFNAME " up: %s", strerror(errno));
	read_mac();
	/* A new driver instance reads the device's MAC: ask for ours again */
	if (have_mac && memcmp(mac, wanted_mac, 6))
		set_mac(wanted_mac);
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		fatal("writing %s to %s: %s", s, path, strerror(errno));
	close(fd);
}

/* Unbind virtio_net and bind it again: the driver resets the device twice. */
static void rebind(void)
{
	char dev[64];

	virtio_name(dev, sizeof(dev));
	close(sock);
	sock = -1;
	write_file("/sys/bus/virtio/drivers/virtio_net/unbind", dev);
	write_file("/sys/bus/virtio/drivers/virtio_net/bind", dev);
	nic_open();
	rebinds++;
}

/* -- commands: the control serial port and the power button -------------- */

static void open_controls(void)
{
	struct termios tio;
	char path[64];
	int i, fd;

	control = open(CONTROL_TTY, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (control >= 0 && !tcgetattr(control, &tio)) {
		cfmakeraw(&tio);
		tcsetattr(control, TCSANOW, &tio);
	}
	for (i = 0; i < MAX_INPUTS; i++) {
		snprintf(path, sizeof(path), "/dev/input/event%d", i);
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			inputs[ninputs++] = fd;
	}
}

static void power(int how, const char *what)
{
	say("%s", what);
	sync();
	reboot(how);
	fatal("%s: %s", what, strerror(errno));
}

static void command(char *line)
{
	uint8_t m[6];

	if (!strcmp(line, "rebind")) {
		rebind();
	} else if (!strncmp(line, "mac ", 4) && !parse_mac(line + 4, m)) {
		memcpy(wanted_mac, m, 6);
		have_mac = 1;
		set_mac(m);
	} else if (!strcmp(line, "reboot")) {
		power(RB_AUTOBOOT, "reboot");
	} else if (line[0]) {
		say("unknown command '%s'", line);
	}
}

static void read_control(void)
{
	char c;

	while (control >= 0 && read(control, &c, 1) == 1) {
		if (c == '\n' || c == '\r') {
			control_line[control_len] = 0;
			control_len = 0;
			/* One at a time: the host waits for each one's effect */
			if (!pending[0])
				memcpy(pending, control_line, sizeof(pending));
		} else if (control_len < sizeof(control_line) - 1) {
			control_line[control_len++] = c;
		}
	}
}

/* The ACPI power button (libvirt's "virsh reboot" and "virsh shutdown"). */
static void read_inputs(void)
{
	struct input_event ev;
	int i;

	for (i = 0; i < ninputs; i++)
		while (read(inputs[i], &ev, sizeof(ev)) == sizeof(ev))
			if (ev.type == EV_KEY && ev.code == KEY_POWER &&
			    ev.value == 1)
				power(RB_POWER_OFF, "poweroff");
}

/* -- traffic ------------------------------------------------------------------ */

/* Wait up to ms for a frame or a command; the counters keep coming meanwhile. */
static void wait_events(int ms)
{
	struct pollfd pfd[2 + MAX_INPUTS];
	int i, n = 0;

	pfd[n++] = (struct pollfd){ .fd = sock, .events = POLLIN };
	pfd[n++] = (struct pollfd){ .fd = control, .events = POLLIN };
	for (i = 0; i < ninputs; i++)
		pfd[n++] = (struct pollfd){ .fd = inputs[i], .events = POLLIN };
	if (ms > (int)period_ms)
		ms = period_ms;
	poll(pfd, n, ms);
	read_control();
	read_inputs();
}

/* Send seq and wait up to ECHO_TIMEOUT_MS for its echo. */
static void send_and_wait(uint64_t seq)
{
	uint8_t frame[FRAME_MAX], buf[2048];
	uint64_t deadline = now_ms() + ECHO_TIMEOUT_MS;
	uint32_t len = frame_build(&traffic, seq, frame);
	int queued, done = 0;
	ssize_t n;

	queued = send(sock, frame, len, 0) == (ssize_t)len;
	if (queued)
		traffic.sent++;
	while (!done) {
		tick();
		n = recv(sock, buf, sizeof(buf), 0);
		if (n >= 0) {
			done = traffic_account(&traffic, buf, n, seq) && queued;
			continue;
		}
		if (now_ms() >= deadline) {
			traffic.lost++;
			break;
		}
		wait_events(deadline - now_ms());
	}
}

int main(void)
{
	char dev[64];
	uint64_t seq, since_rebind = 0;

	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	parse_cmdline();
	open_controls();

	t0_ms = now_ms();
	nic_open();
	virtio_name(dev, sizeof(dev));
	say("ready mac=%02x:%02x:%02x:%02x:%02x:%02x features=0x%llx",
	    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], features(dev));

	next_tick_ms = now_ms() + period_ms;
	for (seq = 1;; seq++) {
		send_and_wait(seq);
		/*
		 * Between two frames, so that no echo in flight was built
		 * with a MAC that a command changes meanwhile
		 */
		if (pending[0]) {
			command(pending);
			pending[0] = 0;
		}
		if (rebind_every && ++since_rebind == rebind_every) {
			rebind();
			since_rebind = 0;
		}
	}
}
