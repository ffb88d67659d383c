// The case catalog: one entry per case, in run order. Rows and expectations come
// from docs/fuse-passthrough-api.md §5; "expected" is the 6.18 upstream
// outcome, older outcomes are `known` (they give XFAIL naming range and fix).
import type { Api, CaseDef, FamilyDef, KnownOutcome } from './types.js';

export const FAMILIES: readonly FamilyDef[] = Object.freeze([
  { name: 'ioctl-open', api: 'upstream', hidden: false, summary: 'FUSE_DEV_IOC_BACKING_OPEN argument checks' },
  { name: 'ioctl-close', api: 'upstream', hidden: false, summary: 'FUSE_DEV_IOC_BACKING_CLOSE and id allocation' },
  { name: 'ioctl-clone', api: 'upstream', hidden: false, summary: 'FUSE_DEV_IOC_CLONE: a second /dev/fuse fd on one connection' },
  { name: 'init', api: 'upstream', hidden: false, summary: 'INIT negotiation of FUSE_PASSTHROUGH' },
  { name: 'stacking', api: 'upstream', hidden: false, summary: 'max_stack_depth against overlayfs and FUSE' },
  { name: 'open-reply', api: 'upstream', hidden: false, summary: 'bad OPEN/CREATE/OPENDIR replies' },
  { name: 'iomode', api: 'upstream', hidden: false, summary: 'cached, direct and passthrough io modes of one inode' },
  { name: 'backing-file', api: 'upstream', hidden: false, summary: 'passthrough I/O onto backing files that refuse it (fs/backing-file.c)' },
  { name: 'data-path', api: 'upstream', hidden: false, summary: 'happy path: read, write, mmap, splice, fsync' },
  { name: 'lifecycle', api: 'upstream', hidden: false, summary: 'backing lifetime, daemon death, unmount' },
  { name: 'older-a1', api: 'a1', hidden: false, summary: 'Balsini V10-V12 / Android V1 ioctl and open' },
  { name: 'older-a2', api: 'a2', hidden: false, summary: 'Android V2 ioctl 126' },
  { name: 'older-r8', api: 'r8', hidden: false, summary: 'V8 RFC in-flight OPEN ioctl' },
  { name: 'selftest', api: 'upstream', hidden: true, summary: 'harness self-tests for the runners (hang, panic, pass)' },
].map((f) => Object.freeze(f as FamilyDef)));

// Commits that brought today's behaviour (API doc §1.7).
const FIX_REGULAR = 'e9c8da670e74';   // regular files only: EISDIR/EINVAL (6.17-rc5, 6.16.8, 6.12.48)
const FIX_OPATH = 'efad7153bf93';     // O_PATH accepted, EOPNOTSUPP check dropped (6.12)
const FIX_PADDING = 'aef8acd79f36';   // padding checked (6.9 final)
const FIX_WRITEBACK = '3ab394b363c5'; // writeback cache excludes passthrough (6.11-rc6, 6.10.10)
/** "fuse: allow synchronous FUSE_INIT" (FUSE 7.45, merged for 6.18): its commit id is not in the
 *  sources read here (Debian's linux-source tarballs carry no history), so the release names it. */
const FIX_SYNC_INIT = 'v6.18';
/** The backing inode's append-only and immutable flags checked in fs/backing-file.c: not in
 *  Debian's 7.2.13, in its 7.3.4 (both run by kgate); the sources carry no history, so the
 *  release names the fix, as for SYNC_INIT. */
const FIX_BACKING_FLAGS = 'v7.3';
const backingFlagsIgnored = (what: string): KnownOutcome =>
  ({ outcome: 'ok', range: '6.9-7.2', what: `${what}: the backing inode's flags were not checked`, fix: FIX_BACKING_FLAGS });
const syncInitUnknown: KnownOutcome = { outcome: 'ENOTTY', range: '6.9-6.17', what: 'FUSE_DEV_IOC_SYNC_INIT unknown to fuse_dev_ioctl', fix: FIX_SYNC_INIT };
/** 6.9 and early 6.10 let INIT enable both; 3ab394b363c5 made them exclusive. */
const writebackAndPassthrough: KnownOutcome = { outcome: 'ok', range: '6.9-6.10', what: 'writeback cache and passthrough both enabled', fix: FIX_WRITEBACK,
  fixedIn: ['6.10.10'] };

const regularOnly = (what: string): KnownOutcome =>
  ({ outcome: 'ok', range: '6.12-6.16', what: `${what} accepted as a backing file before the regular-only check`, fix: FIX_REGULAR,
    fixedIn: ['6.12.48', '6.16.8'] });
const noIterCheck = (what: string): KnownOutcome =>
  ({ outcome: 'EOPNOTSUPP', range: '6.9-6.11', what: `${what} rejected by the read_iter/write_iter check`, fix: FIX_REGULAR });
const opathRejected: KnownOutcome =
  { outcome: 'EBADF', range: '6.9-6.11', what: 'O_PATH fd rejected by fget()', fix: FIX_OPATH };

interface Opts { timeoutSec?: number; needsPassthrough?: boolean; known?: KnownOutcome[]; note?: string }

function c(id: string, family: string, api: Api, setup: string, syscall: string, expected: string, o: Opts = {}): CaseDef {
  return Object.freeze({
    id, row: id.split('.')[0], family, api, setup, syscall, expected,
    timeoutSec: o.timeoutSec ?? 10,
    needsPassthrough: o.needsPassthrough ?? true,
    known: Object.freeze(o.known ?? []) as KnownOutcome[],
    ...(o.note ? { note: o.note } : {}),
  });
}
const u = (id: string, family: string, setup: string, syscall: string, expected: string, o?: Opts) =>
  c(id, family, 'upstream', setup, syscall, expected, o);

/** A1's ioctl: nr 1 as posted (V10-V12), nr 127 in Android's V1 from 2021-01-28; the suite finds which. */
const A1_IOCTL = 'ioctl _IOW(229, 1|127, fuse_passthrough_out)';

export const CASES: readonly CaseDef[] = Object.freeze([
  // ioctl-open: BACKING_OPEN argument checks, §1.3
  u('U01.never_opened', 'ioctl-open', 'fd number never opened (1000)', 'ioctl BACKING_OPEN', 'EBADF'),
  u('U01.minus_one', 'ioctl-open', 'fd -1', 'ioctl BACKING_OPEN', 'EBADF'),
  u('U01.huge_fd', 'ioctl-open', 'fd 1048576 (past any fd table)', 'ioctl BACKING_OPEN', 'EBADF',
    { note: 'backing.c (6.18+; passthrough.c before) fuse_backing_open: fget_raw(map->fd) returns NULL for any fd past the table: EBADF' }),
  u('U02.closed', 'ioctl-open', 'fd that was opened and then closed', 'ioctl BACKING_OPEN', 'EBADF'),
  u('U03.dir', 'ioctl-open', 'directory fd', 'ioctl BACKING_OPEN', 'EISDIR',
    { known: [noIterCheck('directory'), regularOnly('directory')] }),
  u('U04.opath_file', 'ioctl-open', 'O_PATH regular file, then open and read through the mount', 'ioctl BACKING_OPEN; open; read', 'ok',
    { known: [opathRejected] }),
  u('U05.opath_dir', 'ioctl-open', 'O_PATH directory', 'ioctl BACKING_OPEN', 'EISDIR',
    { known: [opathRejected, regularOnly('O_PATH directory')] }),
  u('U06.proc', 'ioctl-open', '/proc/self/status (procfs stack depth is the maximum)', 'ioctl BACKING_OPEN', 'ELOOP',
    { known: [{ ...noIterCheck('/proc file'), fix: FIX_OPATH }], note: 'API doc corrected: ELOOP, confirmed on 6.18 (fs/proc/root.c sets s_stack_depth to the maximum)' }),
  u('U06.sysfs', 'ioctl-open', 'sysfs file, then read it through the mount', 'ioctl BACKING_OPEN; open; read', 'ok'),
  u('U06.proc_d2', 'ioctl-open', '/proc/self/status at max_stack_depth=2', 'ioctl BACKING_OPEN', 'ELOOP',
    { note: 'fs/proc/root.c sets s_stack_depth = FILESYSTEM_MAX_STACK_DEPTH (2); fuse_backing_open: s_stack_depth >= fc->max_stack_depth (2 >= 2): ELOOP on 6.12.118, 6.18 and 7.3.4 alike' }),
  u('U06.hugetlbfs', 'ioctl-open', 'hugetlbfs file (SKIP where hugetlbfs cannot be mounted)', 'ioctl BACKING_OPEN', 'ELOOP',
    { note: 'fs/hugetlbfs/inode.c hugetlbfs_fill_super: sb->s_stack_depth = FILESYSTEM_MAX_STACK_DEPTH (6.12 and 7.3 alike, as fs/proc/root.c does), so fuse_backing_open gives ELOOP at any max_stack_depth' }),
  u('U07.pipe', 'ioctl-open', 'pipe read end', 'ioctl BACKING_OPEN', 'EINVAL', { known: [regularOnly('pipe')] }),
  u('U07.socket', 'ioctl-open', 'unix socket', 'ioctl BACKING_OPEN', 'EINVAL', { known: [regularOnly('socket')] }),
  u('U08.eventfd', 'ioctl-open', 'eventfd', 'ioctl BACKING_OPEN', 'EINVAL',
    { known: [noIterCheck('eventfd'), regularOnly('eventfd')] }),
  u('U09.memfd', 'ioctl-open', 'memfd (positive control)', 'ioctl BACKING_OPEN', 'ok'),
  u('U09.tmpfs', 'ioctl-open', 'tmpfs regular file (positive control)', 'ioctl BACKING_OPEN', 'ok'),
  u('U09.memfd_read', 'ioctl-open', 'memfd as backing, read through the mount', 'ioctl BACKING_OPEN; open; read', 'ok',
    { note: 'memfd is a regular shmem file (d_is_reg), depth 0: accepted; reads come from the memfd (passthrough.c fuse_passthrough_read_iter), no FUSE_READ' }),
  u('U10.flags', 'ioctl-open', 'fuse_backing_map.flags=1', 'ioctl BACKING_OPEN', 'EINVAL'),
  u('U10.flags_bad_fd', 'ioctl-open', 'fuse_backing_map.flags=1 with fd -1', 'ioctl BACKING_OPEN', 'EINVAL',
    { note: 'fuse_backing_open checks map->flags || map->padding (EINVAL) before fget_raw (EBADF): the order is the same in 6.12 passthrough.c and 7.3 backing.c' }),
  u('U10.padding', 'ioctl-open', 'fuse_backing_map.padding=1', 'ioctl BACKING_OPEN', 'EINVAL',
    { known: [{ outcome: 'ok', range: '6.9-rc', what: 'padding not checked', fix: FIX_PADDING }] }),
  u('U11.nocap_open', 'ioctl-open', 'CAP_SYS_ADMIN dropped from the effective set', 'ioctl BACKING_OPEN', 'EPERM'),
  u('U11.nocap_close', 'ioctl-open', 'CAP_SYS_ADMIN dropped, close a valid id', 'ioctl BACKING_CLOSE', 'EPERM'),
  u('U14.unmounted_open', 'ioctl-open', '/dev/fuse fd never mounted', 'ioctl BACKING_OPEN', 'EPERM'),
  u('U14.unmounted_close', 'ioctl-open', '/dev/fuse fd never mounted', 'ioctl BACKING_CLOSE', 'EPERM'),
  u('U15.v8_size', 'ioctl-open', 'cmd 0x4018E501 (V8 struct size)', 'ioctl', 'ENOTTY'),
  u('U15.android', 'ioctl-open', 'cmd 0x4004E57E (Android V2)', 'ioctl', 'ENOTTY'),
  u('U15.nr9', 'ioctl-open', 'cmd _IOW(229,9,u32)', 'ioctl', 'ENOTTY'),
  u('U35.open_efault', 'ioctl-open', 'BACKING_OPEN with a NULL argument on a mounted /dev/fuse fd', 'ioctl BACKING_OPEN', 'EFAULT',
    { note: 'dev.c fuse_dev_ioctl_backing_open: copy_from_user fails -> EFAULT, after the mount (EPERM) and CONFIG_FUSE_PASSTHROUGH (EOPNOTSUPP) checks; found unreached by kgate run --coverage' }),
  u('U35.close_efault', 'ioctl-open', 'BACKING_CLOSE with a NULL argument on a mounted /dev/fuse fd', 'ioctl BACKING_CLOSE', 'EFAULT',
    { note: 'dev.c fuse_dev_ioctl_backing_close: get_user fails -> EFAULT; found unreached by kgate run --coverage' }),

  // ioctl-close: §1.4
  u('U21.unknown', 'ioctl-close', 'close id 12345', 'ioctl BACKING_CLOSE', 'ENOENT'),
  u('U21.zero', 'ioctl-close', 'close id 0', 'ioctl BACKING_CLOSE', 'EINVAL'),
  u('U21.high', 'ioctl-close', 'close id 0x80000000', 'ioctl BACKING_CLOSE', 'EINVAL'),
  u('U22.double', 'ioctl-close', 'close a valid id twice', 'ioctl BACKING_CLOSE', 'ENOENT'),
  u('H6.cyclic', 'ioctl-close', 'register, close, register', 'ioctl BACKING_OPEN', 'ok'),

  // ioctl-clone: FUSE_DEV_IOC_CLONE shares fuse_dev_ioctl with the backing ioctls (dev.c fuse_dev_ioctl_clone, fuse_device_clone)
  u('U36.clone', 'ioctl-clone', 'clone a mounted /dev/fuse fd; BACKING_OPEN through the clone; passthrough open with that id', 'ioctl CLONE; ioctl BACKING_OPEN; open; read', 'ok',
    { note: 'a clone is attached to the same connection (fuse_device_clone): backing ids registered through it are the connection\'s' }),
  u('U36.efault', 'ioctl-clone', 'CLONE with a NULL argument', 'ioctl CLONE', 'EFAULT', { needsPassthrough: false,
    note: 'dev.c fuse_dev_ioctl_clone: get_user(oldfd, argp) fails -> EFAULT' }),
  u('U36.bad_fd', 'ioctl-clone', 'CLONE of fd 1000 (never opened)', 'ioctl CLONE', 'EINVAL', { needsPassthrough: false,
    note: 'dev.c fuse_dev_ioctl_clone: fdget(oldfd) finds no file -> EINVAL' }),
  u('U36.not_fuse', 'ioctl-clone', 'CLONE of a regular file\'s fd', 'ioctl CLONE', 'EINVAL', { needsPassthrough: false,
    note: 'dev.c fuse_dev_ioctl_clone: the old fd\'s f_op is not /dev/fuse\'s, no fuse_dev -> EINVAL' }),
  u('U36.unmounted', 'ioctl-clone', 'CLONE of a /dev/fuse fd never mounted', 'ioctl CLONE', 'EPERM', { needsPassthrough: false,
    known: [{ outcome: 'EINVAL', range: '4.2-6.17', what: 'fuse_dev_ioctl_clone: no fuse_dev behind an unmounted fd -> res = -EINVAL', fix: FIX_SYNC_INIT }],
    note: '7.3 dev.c fuse_dev_ioctl_clone: fuse_get_dev(old fd) -> ERR_PTR(-EPERM) when it is not mounted (and no SYNC_INIT) -> EPERM (the SYNC_INIT patch made fuse_get_dev return ERR_PTR); 6.12 dev.c: fud NULL -> EINVAL; found unreached on the 7.3 tree by kgate run --coverage' }),
  u('U36.twice', 'ioctl-clone', 'CLONE onto a /dev/fuse fd already attached (cloned once)', 'ioctl CLONE', 'EINVAL', { needsPassthrough: false,
    note: 'dev.c fuse_device_clone: new->private_data already set -> EINVAL' }),

  // init: §1.2
  u('U12.no_flag', 'init', 'INIT reply without FUSE_PASSTHROUGH', 'ioctl BACKING_OPEN', 'EPERM'),
  u('U12.no_flag_open', 'init', 'INIT reply without FUSE_PASSTHROUGH, OPEN reply FOPEN_PASSTHROUGH id 1', 'open', 'EIO'),
  u('U12.no_flag_close', 'init', 'INIT reply without FUSE_PASSTHROUGH, BACKING_CLOSE id 1', 'ioctl BACKING_CLOSE', 'EPERM',
    { note: 'passthrough.c (backing.c 7.x) fuse_backing_close: !fc->passthrough || !capable(CAP_SYS_ADMIN): the connection half (U11.nocap_close is the capability half); found unreached by kgate run --coverage' }),
  u('U12.no_ext', 'init', 'INIT reply with flags2 PASSTHROUGH but no FUSE_INIT_EXT', 'ioctl BACKING_OPEN', 'EPERM'),
  u('U12.depth0', 'init', 'INIT reply max_stack_depth=0', 'ioctl BACKING_OPEN', 'EPERM'),
  u('U12.depth3', 'init', 'INIT reply max_stack_depth=3', 'ioctl BACKING_OPEN', 'EPERM'),
  u('U12.no_ext_open', 'init', 'INIT reply with flags2 PASSTHROUGH but no FUSE_INIT_EXT, OPEN reply FOPEN_PASSTHROUGH', 'open', 'EIO',
    { note: 'inode.c process_init_reply reads flags2 only with FUSE_INIT_EXT, so fc->passthrough stays 0; iomode.c fuse_file_passthrough_open: !fc->passthrough -> EINVAL -> EIO' }),
  u('U12.depth0_open', 'init', 'INIT reply max_stack_depth=0, OPEN reply FOPEN_PASSTHROUGH', 'open', 'EIO',
    { note: 'process_init_reply needs 0 < max_stack_depth <= FILESYSTEM_MAX_STACK_DEPTH; fuse_file_passthrough_open: EINVAL -> EIO' }),
  u('U12.depth3_open', 'init', 'INIT reply max_stack_depth=3, OPEN reply FOPEN_PASSTHROUGH', 'open', 'EIO',
    { note: 'inode.c process_init_reply: max_stack_depth 3 > FILESYSTEM_MAX_STACK_DEPTH leaves fc->passthrough 0; iomode.c fuse_file_passthrough_open: EINVAL -> EIO' }),
  u('U12.init_offer', 'init', 'INIT request: FUSE_PASSTHROUGH offered in flags2 with FUSE_INIT_EXT; reply depth 1; then BACKING_OPEN', 'INIT; ioctl BACKING_OPEN', 'ok',
    { note: 'inode.c fuse_new_init: flags |= FUSE_PASSTHROUGH when CONFIG_FUSE_PASSTHROUGH, in->flags2 = flags >> 32; the minor (a key) is 41 on 6.12, 45 on 6.18 and 7.2, 46 on 7.3' }),
  u('U12.before_init', 'init', 'BACKING_OPEN on a mounted fd before the server answers INIT', 'ioctl BACKING_OPEN', 'EPERM',
    { note: 'fc->passthrough is set only by process_init_reply: before it, fuse_backing_open returns EPERM' }),
  u('U34.sync_init_unmounted', 'init', 'FUSE_DEV_IOC_SYNC_INIT on a /dev/fuse fd not yet mounted', 'ioctl SYNC_INIT', 'ok',
    { known: [syncInitUnknown], note: '6.18/7.3 dev.c fuse_dev_ioctl_sync_init: no channel yet, fud->sync_init = true, 0; 6.12 dev.c fuse_dev_ioctl: default -ENOTTY' }),
  u('U34.sync_init_mounted', 'init', 'FUSE_DEV_IOC_SYNC_INIT on a mounted /dev/fuse fd', 'ioctl SYNC_INIT', 'EINVAL',
    { known: [syncInitUnknown], note: '7.3 dev.c fuse_dev_ioctl_sync_init: if (fuse_dev_chan_get(fud)) return -EINVAL; 6.12: ENOTTY' }),
  u('U34.sync_init_waits', 'init', 'SYNC_INIT, then BACKING_OPEN on the still unmounted fd, a signal after 300 ms', 'ioctl BACKING_OPEN', 'EINTR',
    { known: [{ outcome: 'EPERM', range: '6.9-6.17', what: 'fuse_get_dev returns NULL for an unmounted fd: EPERM at once', fix: FIX_SYNC_INIT }],
      note: '7.3 dev.c fuse_get_dev: no channel and fud->sync_init -> wait_event_interruptible(fuse_dev_waitq, ...) -> EINTR on the signal; without sync_init ERR_PTR(-EPERM); 6.12 dev.c fuse_dev_ioctl_backing_open: if (!fud) return -EPERM' }),
  u('U13.writeback', 'init', 'INIT reply PASSTHROUGH|WRITEBACK_CACHE', 'ioctl BACKING_OPEN', 'EPERM',
    { known: [writebackAndPassthrough] }),
  u('U13.writeback_open', 'init', 'INIT reply PASSTHROUGH|WRITEBACK_CACHE, OPEN reply FOPEN_PASSTHROUGH', 'open', 'EIO',
    { known: [writebackAndPassthrough] }),

  // stacking: §1.6
  u('U16.overlay_d1', 'stacking', 'max_stack_depth=1, backing file on overlayfs', 'ioctl BACKING_OPEN', 'ELOOP'),
  u('U17.overlay_d2', 'stacking', 'max_stack_depth=2, backing file on overlayfs', 'ioctl BACKING_OPEN', 'ok'),
  u('U17.overlay_d2_read', 'stacking', 'max_stack_depth=2, backing file on overlayfs, read through the mount', 'ioctl BACKING_OPEN; open; read', 'ok'),
  u('U18.over_pt_d1', 'stacking', 'outer depth 1, backing on a passthrough FUSE mount (depth 1)', 'ioctl BACKING_OPEN', 'ELOOP'),
  u('U18.d2_over_d1', 'stacking', 'outer depth 2, backing on a passthrough FUSE mount (depth 1)', 'ioctl BACKING_OPEN', 'ok'),
  u('U18.d2_over_d1_read', 'stacking', 'outer depth 2 over a passthrough FUSE mount (depth 1), read through the outer mount', 'ioctl BACKING_OPEN; open; read', 'ok'),
  u('U18.over_plain', 'stacking', 'outer depth 1, backing on a plain FUSE mount (depth 0)', 'ioctl BACKING_OPEN', 'ok'),
  u('U19.same_mount', 'stacking', 'backing file on the same FUSE mount', 'ioctl BACKING_OPEN', 'ELOOP'),
  u('U19.opath_d1', 'stacking', 'backing file on the same FUSE mount, O_PATH fd, depth 1', 'ioctl BACKING_OPEN', 'ELOOP'),
  u('U19.rdonly_d2', 'stacking', 'backing file on the same FUSE mount, O_RDONLY fd, depth 2', 'ioctl BACKING_OPEN', 'ELOOP',
    { note: 'inode.c process_init_reply sets fm->sb->s_stack_depth = max_stack_depth, so fuse_backing_open sees 2 >= 2: ELOOP' }),
  u('U20.overlay_over_d2', 'stacking', 'overlayfs over a passthrough FUSE mount with depth 2', 'mount overlay', 'EINVAL'),
  u('U20.overlay_over_d1', 'stacking', 'overlayfs over a passthrough FUSE mount with depth 1', 'mount overlay', 'ok'),

  // open-reply: §1.5
  u('U23.id0', 'open-reply', 'OPEN reply FOPEN_PASSTHROUGH backing_id 0', 'open', 'EIO'),
  u('U23.id_neg', 'open-reply', 'OPEN reply FOPEN_PASSTHROUGH backing_id -1', 'open', 'EIO'),
  u('U23.id_unknown', 'open-reply', 'OPEN reply FOPEN_PASSTHROUGH backing_id never opened', 'open', 'EIO'),
  u('U24.closed_before_reply', 'open-reply', 'BACKING_CLOSE before the OPEN reply', 'open', 'EIO'),
  u('U25.keep_cache', 'open-reply', 'FOPEN_PASSTHROUGH|FOPEN_KEEP_CACHE', 'open', 'EIO'),
  u('U25.nonseekable', 'open-reply', 'FOPEN_PASSTHROUGH|FOPEN_NONSEEKABLE', 'open', 'EIO'),
  u('U25.stream', 'open-reply', 'FOPEN_PASSTHROUGH|FOPEN_STREAM', 'open', 'EIO'),
  u('U25.cache_dir', 'open-reply', 'FOPEN_PASSTHROUGH|FOPEN_CACHE_DIR', 'open', 'EIO'),
  u('U25.zero_copy', 'open-reply', 'FOPEN_PASSTHROUGH|FOPEN_IO_URING_ZERO_COPY (1<<8, uapi 7.46)', 'open', 'EIO',
    { note: '7.3 uapi fuse.h adds FOPEN_IO_URING_ZERO_COPY but iomode.c FOPEN_PASSTHROUGH_MASK is still PASSTHROUGH|DIRECT_IO|PARALLEL_DIRECT_WRITES|NOFLUSH: EINVAL -> EIO; 6.12 and 6.18 know no bit 8, also outside the mask: EIO' }),
  u('U31.create_bad_id', 'open-reply', 'CREATE reply FOPEN_PASSTHROUGH with an unknown id', 'open(O_CREAT); stat', 'EIO'),
  u('U32.opendir', 'open-reply', 'FOPEN_PASSTHROUGH in an OPENDIR reply', 'opendir; readdir', 'ok'),
  u('U33.ro_backing', 'open-reply', 'backing O_RDONLY on a read-only mount, client O_RDWR', 'open', 'EIO'),
  u('U33.ro_client', 'open-reply', 'backing O_RDONLY on a read-only mount, client O_RDONLY (control of U33.ro_backing)', 'open; read', 'ok'),

  // iomode: §1.5 io modes
  u('U26.dio_all', 'iomode', 'FOPEN_PASSTHROUGH|DIRECT_IO|PARALLEL_DIRECT_WRITES|NOFLUSH', 'open; read; mmap', 'ok'),
  u('U27.pt_then_plain', 'iomode', 'fd1 passthrough, fd2 plain (cached)', 'open fd2', 'EIO'),
  u('U27.pt_then_dio', 'iomode', 'fd1 passthrough, fd2 FOPEN_DIRECT_IO', 'open fd2', 'EIO'),
  u('U28.cached_then_pt', 'iomode', 'fd1 cached, fd2 passthrough', 'open fd2', 'EIO'),
  u('U29.two_ids', 'iomode', 'fd1 id A, fd2 id B of another file', 'open fd2', 'EIO'),
  u('U29.two_ids_same_file', 'iomode', 'fd1 id A, fd2 id B of the same file', 'open fd2', 'EIO'),
  u('U30.mmap_enodev', 'iomode', 'DIRECT_IO_ALLOW_MMAP; fd1 DIRECT_IO, fd2 passthrough, mmap(fd1, MAP_SHARED)', 'mmap', 'ENODEV',
    { note: 'API doc refined: negotiates FUSE_DIRECT_IO_ALLOW_MMAP so ENODEV is the passthrough effect' }),
  u('U30.control', 'iomode', 'DIRECT_IO_ALLOW_MMAP; fd1 DIRECT_IO, no passthrough open, mmap(fd1, MAP_SHARED)', 'mmap', 'ok'),
  u('U30.no_allow_mmap', 'iomode', 'no DIRECT_IO_ALLOW_MMAP; fd1 DIRECT_IO, fd2 passthrough, mmap(fd1, MAP_SHARED)', 'mmap', 'ENODEV',
    { note: 'file.c fuse_file_mmap: the inode has a backing file and fd1 is not passthrough -> ENODEV, before the FOPEN_DIRECT_IO check (kgate run --coverage: the DIRECT_IO -ENODEV is not reached here; U30.dio_no_allow_mmap reaches it)' }),
  u('U30.dio_no_allow_mmap', 'iomode', 'no DIRECT_IO_ALLOW_MMAP, no passthrough open; fd DIRECT_IO, mmap(fd, MAP_SHARED)', 'mmap', 'ENODEV',
    { needsPassthrough: false, note: 'file.c fuse_file_mmap: FOPEN_DIRECT_IO, VM_MAYSHARE and no fc->direct_io_allow_mmap -> ENODEV (the inode has no backing file, so the passthrough check before it does not decide)' }),

  // data-path: happy path, every case proves no FUSE_READ/WRITE reached the server
  u('H1.read', 'data-path', 'passthrough open', 'read; pread; preadv2', 'ok'),
  u('H2.write', 'data-path', 'passthrough open, extending write', 'write; stat', 'ok'),
  u('H2.rdonly_registered', 'data-path', 'backing registered through an O_RDONLY fd, client O_RDWR writes', 'write; read backing', 'ok',
    { note: 'fuse_passthrough_open: backing_file_open(&file->f_path, file->f_flags, &fb->file->f_path, ...) opens the backing again with the client\'s flags; the registering fd\'s mode does not matter' }),
  u('H2.stale_size', 'data-path', 'GETATTR keeps reporting the pre-write size after an extending passthrough write (attr timeout 0)', 'write; fstat', 'server_size',
    { note: 'fuse_passthrough_end_write -> fuse_write_update_attr extends i_size and invalidates attrs; the next fstat does a GETATTR and fuse_change_attributes takes its size (no writeback cache): the server\'s size wins' }),
  u('H3.mmap', 'data-path', 'passthrough open', 'mmap MAP_SHARED store/load; msync', 'ok'),
  u('H4.splice', 'data-path', 'passthrough open', 'splice in and out', 'ok'),
  u('H4.sendfile', 'data-path', 'passthrough open', 'sendfile in and out', 'ok'),
  u('H7.fsync', 'data-path', 'passthrough open', 'fsync', 'ok'),
  u('H10.aio', 'data-path', 'passthrough open; AIO (io_submit) pread and pwrite', 'io_submit; io_getevents', 'ok',
    { note: 'backing-file.c (6.12; fuse/backing.c 7.x) backing_file_read_iter/write_iter: a kiocb with a completion takes the async branch (backing_aio, kiocb_clone); SKIP without CONFIG_AIO' }),
  u('H10.aio_queued', 'data-path', 'backing file on a plain FUSE mount with FUSE_ASYNC_DIO; O_DIRECT passthrough open; AIO pread and pwrite', 'io_submit; io_getevents', 'ok',
    { note: 'the backing read/write returns -EIOCBQUEUED (fuse_direct_IO, async) and completes later: backing_aio_rw_complete, and for the write backing_aio_queue_completion and backing_aio_complete_work on the sb\'s dio workqueue; SKIP without CONFIG_AIO' }),
  u('H10.io_uring', 'data-path', 'passthrough open; io_uring READ and WRITE', 'io_uring_enter', 'ok',
    { note: 'the same async branch through io_uring (inline or from an io-wq worker); SKIP without CONFIG_IO_URING or when kernel.io_uring_disabled says no' }),

  // lifecycle: §2 refcounting, server death, unmount
  u('H5.server_close_fd', 'lifecycle', 'server closes its fd right after BACKING_OPEN', 'open; read', 'ok'),
  u('H5.close_after_reply', 'lifecycle', 'BACKING_CLOSE after the OPEN reply', 'read on the open fd', 'ok'),
  u('H5.closed_id_new_open', 'lifecycle', 'BACKING_CLOSE of an id while an fd of it is open, then a new open naming it', 'open', 'EIO',
    { note: 'fuse_passthrough_open: fuse_backing_lookup (idr_find) finds no entry after fuse_backing_close removed it: ENOENT -> EIO' }),
  u('H8.dead_read', 'lifecycle', 'kill the daemon, read an open passthrough fd', 'read', 'ok'),
  u('H8.dead_stat', 'lifecycle', 'kill the daemon (attr timeout 0), stat', 'stat', 'ENOTCONN'),
  u('U38.odirect_read_sysfs', 'backing-file', 'sysfs backing file; O_DIRECT set with fcntl on the passthrough fd', 'read', 'EINVAL',
    { note: 'backing-file.c (6.12; fuse/backing.c 7.x) backing_file_read_iter: IOCB_DIRECT and the backing file has no FMODE_CAN_ODIRECT (kernfs has no direct_IO) -> EINVAL; found unreached by kgate run --coverage' }),
  u('U38.odirect_write_debugfs', 'backing-file', 'debugfs backing file (fault_around_bytes); O_DIRECT set with fcntl', 'write', 'EINVAL',
    { note: 'backing-file.c backing_file_write_iter: IOCB_DIRECT without FMODE_CAN_ODIRECT -> EINVAL, before anything is written; SKIP without CONFIG_DEBUG_FS' }),
  u('U39.splice_write_debugfs', 'backing-file', 'debugfs backing file (no splice_write); splice from a pipe into the passthrough fd', 'splice', 'EINVAL',
    { note: 'backing-file.c backing_file_splice_write: !out->f_op->splice_write -> EINVAL; SKIP without CONFIG_DEBUG_FS' }),
  u('U39.mmap_debugfs', 'backing-file', 'debugfs backing file (no mmap); mmap the passthrough fd', 'mmap', 'ENODEV',
    { note: 'backing-file.c backing_file_mmap: !file->f_op->mmap -> ENODEV; SKIP without CONFIG_DEBUG_FS' }),
  u('U40.remove_privs_write', 'backing-file', 'setuid FUSE file, writer without CAP_FSETID, server refuses the SETATTR that clears the bit', 'write', 'EPERM',
    { note: 'backing-file.c backing_file_write_iter: file_remove_privs(user file) -> fuse_setattr -> FUSE_SETATTR answered EPERM -> EPERM before the backing write' }),
  u('U40.remove_privs_splice', 'backing-file', 'the same, by splice from a pipe', 'splice', 'EPERM',
    { note: 'backing-file.c backing_file_splice_write: file_remove_privs(user file) fails -> EPERM' }),
  u('U41.immutable_open', 'backing-file', 'chattr +i on the backing file after BACKING_OPEN; open the FUSE file O_RDWR', 'open; pwrite', 'EIO',
    { known: [backingFlagsIgnored('an immutable backing file opened for write and written')],
      note: 'backing-file.c backing_file_open (7.3): IS_IMMUTABLE(real inode) and not O_RDONLY -> EPERM, which fuse_file_io_open turns into EIO; SKIP without CONFIG_TMPFS_XATTR' }),
  u('U41.append_open', 'backing-file', 'chattr +a on the backing file; open the FUSE file O_WRONLY without O_APPEND', 'open; pwrite', 'EIO',
    { known: [backingFlagsIgnored('an append-only backing file opened without O_APPEND and overwritten')],
      note: 'backing-file.c backing_file_open (7.3): IS_APPEND(real inode) without O_APPEND -> EPERM -> EIO from fuse_file_io_open' }),
  u('U41.append_write', 'backing-file', 'chattr +a; open O_WRONLY|O_APPEND, then F_SETFL clears O_APPEND on the FUSE fd', 'pwrite', 'EPERM',
    { known: [backingFlagsIgnored('a write to an append-only backing file after F_SETFL took append mode away')],
      note: 'backing-file.c backing_file_write_iter (7.3): backing O_APPEND, no IOCB_APPEND, IS_APPEND -> EPERM' }),
  u('U41.append_splice', 'backing-file', 'the same, by splice from a pipe', 'splice', 'EPERM',
    { known: [backingFlagsIgnored('a splice into an append-only backing file after F_SETFL took append mode away')],
      note: 'backing-file.c backing_file_splice_write (7.3): backing O_APPEND and IS_APPEND -> EPERM' }),
  u('U41.append_mmap', 'backing-file', 'chattr +a; open O_RDWR|O_APPEND; mmap MAP_SHARED with PROT_WRITE', 'mmap', 'EACCES',
    { known: [backingFlagsIgnored('a shared writable mapping of an append-only backing file')],
      note: 'backing-file.c backing_file_mmap (7.3): VM_SHARED and IS_APPEND(backing inode) -> EACCES; do_mmap checked only the FUSE inode' }),
  u('U37.bad_inode_read', 'lifecycle', 'passthrough open, then GETATTR says the file is a directory (fstat: EIO, inode marked bad)', 'read', 'EIO',
    { note: 'dir.c fuse_do_getattr: inode_wrong_type -> fuse_make_bad; file.c fuse_file_read_iter: fuse_is_bad -> EIO before the passthrough dispatch' }),
  u('U37.bad_inode_write', 'lifecycle', 'passthrough open, then GETATTR says the file is a directory (fstat: EIO, inode marked bad)', 'write', 'EIO',
    { note: 'file.c fuse_file_write_iter: fuse_is_bad -> EIO before the passthrough dispatch' }),
  u('H9.umount_busy', 'lifecycle', 'umount with an open passthrough fd', 'umount', 'EBUSY'),
  u('H9.umount_lazy', 'lifecycle', 'umount -l with an open passthrough fd', 'umount2 MNT_DETACH; read', 'ok'),

  // older-a1: Balsini V10-V12 / Android V1, §3.2
  c('A1.valid', 'older-a1', 'a1', 'regular file', A1_IOCTL, 'ok'),
  c('A1.bad_fd', 'older-a1', 'a1', 'fd never opened', A1_IOCTL, 'EBADF'),
  c('A1.eventfd', 'older-a1', 'a1', 'eventfd', A1_IOCTL, 'EBADF'),
  c('A1.dir', 'older-a1', 'a1', 'directory', A1_IOCTL, 'EBADF'),
  c('A1.depth', 'older-a1', 'a1', 'backing file on overlay-on-overlay (depth 2)', A1_IOCTL, 'EINVAL'),
  c('A1.len', 'older-a1', 'a1', 'len=1', A1_IOCTL, 'EINVAL'),
  c('A1.not_negotiated', 'older-a1', 'a1', 'INIT reply without the passthrough flag', A1_IOCTL, 'EPERM'),
  c('A1.unmounted', 'older-a1', 'a1', '/dev/fuse fd never mounted', A1_IOCTL, 'EINVAL'),
  c('A2.fh0', 'older-a1', 'a1', 'OPEN reply passthrough_fh 0', 'open; read', 'ok'),
  c('A2.unknown', 'older-a1', 'a1', 'OPEN reply passthrough_fh never allocated', 'open; read', 'ok'),
  c('A2.reused', 'older-a1', 'a1', 'OPEN reply reuses a one-shot passthrough_fh', 'open; read', 'ok'),
  c('A3.magic', 'older-a1', 'a1', 'ioctl with magic 0x42 and the nr the kernel answers (_IOC_NR dispatch)', 'ioctl', 'EINVAL'),
  c('A5.rw', 'older-a1', 'a1', 'valid id in the OPEN reply (happy path)', 'open O_RDWR; pread; pwrite', 'ok'),

  // older-a2: Android V2, §3.3
  c('A4.valid', 'older-a2', 'a2', 'regular file', 'ioctl 0x4004E57E', 'ok'),
  c('A4.bad_fd', 'older-a2', 'a2', 'fd never opened', 'ioctl 0x4004E57E', 'EBADF'),
  c('A4.eventfd', 'older-a2', 'a2', 'eventfd', 'ioctl 0x4004E57E', 'EBADF'),
  c('A4.dir', 'older-a2', 'a2', 'directory', 'ioctl 0x4004E57E', 'EBADF'),
  c('A4.depth', 'older-a2', 'a2', 'backing file on overlay-on-overlay (depth 2)', 'ioctl 0x4004E57E', 'EINVAL'),
  c('A4.not_negotiated', 'older-a2', 'a2', 'INIT reply without the passthrough flag', 'ioctl 0x4004E57E', 'EPERM'),
  c('A4.unmounted', 'older-a2', 'a2', '/dev/fuse fd never mounted', 'ioctl 0x4004E57E', 'EINVAL'),
  c('A2.v2_unknown', 'older-a2', 'a2', 'OPEN reply passthrough_fh never allocated', 'open; read', 'ok'),
  c('A6.rw', 'older-a2', 'a2', 'valid id in the OPEN reply (happy path)', 'open O_RDWR; pread; pwrite', 'ok'),

  // older-r8: V8 RFC, §3.1
  c('R1.open', 'older-r8', 'r8', 'ioctl with the unique of the in-flight OPEN (happy path)', 'ioctl 0x4018E501; open O_RDWR; pread; pwrite', 'ok'),
  c('R2.lookup', 'older-r8', 'r8', 'unique of an in-flight LOOKUP', 'ioctl 0x4018E501', 'EINVAL'),
  c('R2.getattr', 'older-r8', 'r8', 'unique of an in-flight GETATTR', 'ioctl 0x4018E501', 'EINVAL'),
  c('R2.opendir', 'older-r8', 'r8', 'unique of an in-flight OPENDIR', 'ioctl 0x4018E501', 'EINVAL'),
  c('R3.bad_fd', 'older-r8', 'r8', 'bad fd during an in-flight OPEN', 'ioctl 0x4018E501', 'EINVAL'),
  c('R4.eventfd', 'older-r8', 'r8', 'eventfd during an in-flight OPEN', 'ioctl 0x4018E501', 'EINVAL'),
  c('R4.dir', 'older-r8', 'r8', 'directory during an in-flight OPEN', 'ioctl 0x4018E501', 'EINVAL'),
  c('R5.depth', 'older-r8', 'r8', 'backing file on overlay-on-overlay (depth 2)', 'ioctl 0x4018E501', 'EEXIST'),
  c('R6.replied', 'older-r8', 'r8', 'unique of an OPEN already replied', 'ioctl 0x4018E501', 'ENOENT'),
  c('R6.bogus', 'older-r8', 'r8', 'bogus unique', 'ioctl 0x4018E501', 'ENOENT'),
  c('R7.len', 'older-r8', 'r8', 'len=1 during an in-flight OPEN', 'ioctl 0x4018E501', 'EINVAL'),
  c('R7.not_negotiated', 'older-r8', 'r8', 'INIT reply without the passthrough flag', 'ioctl 0x4018E501', 'EPERM'),
  c('R7.unmounted', 'older-r8', 'r8', '/dev/fuse fd never mounted', 'ioctl 0x4018E501', 'EINVAL'),

  // selftest: for the runners' end-to-end tests; hidden from the default selection
  u('K1.hang', 'selftest', 'server never answers OPEN, client blocks in open()', 'open', 'ok',
    { timeoutSec: 3, needsPassthrough: false }),
  u('K2.panic', 'selftest', "echo c > /proc/sysrq-trigger (guest only; needs KGATE_ALLOW_PANIC=1)", 'write', 'ok',
    { timeoutSec: 10, needsPassthrough: false }),
  u('K4.wedge', 'selftest', 'the harness itself stops (SIGSTOP): only the runner\'s own deadline can end it', 'none', 'ok',
    { timeoutSec: 2, needsPassthrough: false }),
  u('K3.pass', 'selftest', 'nothing', 'none', 'ok', { timeoutSec: 3, needsPassthrough: false }),
]);
