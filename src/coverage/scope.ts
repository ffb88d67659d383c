// What coverage.txt is about: the code FUSE passthrough runs, file by file,
// whole files or the functions of a file that passthrough goes through. A
// file absent from a kernel (fs/fuse/backing.c before 7.x, fs/backing-file.c
// after it moved) is left out of that kernel's report.

export interface ScopeFile { file: string; functions?: string[]; why: string }

export const SCOPE: ScopeFile[] = [
  { file: 'fs/fuse/passthrough.c', why: 'the passthrough read/write/splice/mmap and open, and (6.x) the backing ids' },
  { file: 'fs/fuse/backing.c', why: '7.x: the backing ids (BACKING_OPEN/CLOSE), moved out of passthrough.c' },
  { file: 'fs/fuse/iomode.c', why: 'the inode io modes FOPEN_PASSTHROUGH switches' },
  { file: 'fs/backing-file.c', why: 'the VFS helpers every passthrough read, write, splice and mmap goes through' },
  { file: 'fs/fuse/dev.c', functions: ['fuse_get_dev', 'fuse_dev_ioctl', 'fuse_dev_ioctl_clone', 'fuse_device_clone', 'fuse_dev_ioctl_backing_open', 'fuse_dev_ioctl_backing_close', 'fuse_dev_ioctl_sync_init'],
    why: 'the ioctls of /dev/fuse: BACKING_OPEN, BACKING_CLOSE, CLONE (same entry), SYNC_INIT (7.x)' },
  { file: 'fs/fuse/file.c', functions: ['fuse_finish_open', 'fuse_file_read_iter', 'fuse_file_write_iter', 'fuse_splice_read', 'fuse_splice_write', 'fuse_file_mmap'],
    why: 'open with FOPEN_PASSTHROUGH and the passthrough branches of read, write, splice and mmap' },
  { file: 'fs/fuse/inode.c', functions: ['process_init_reply'], why: 'the INIT negotiation: FUSE_PASSTHROUGH, max_stack_depth' },
];

export function inScope(s: ScopeFile, func: string): boolean {
  return !s.functions || s.functions.includes(func);
}
