/**
 * SST's own platform code (components, runtime) of the installed `sst` version, taken out of
 * the `sst` CLI binary at test time. SST does not publish platform/src as files: the Go CLI
 * embeds it (`//go:embed` in sst/platform) and writes it to .sst/platform when it runs. That
 * CLI cannot run here (it downloads the Pulumi engine), so we read the embedded files ourselves.
 *
 * How Go stores an embed.FS (src/embed/embed.go, `type file struct { name, data string; hash [16]byte }`,
 * filled in by the compiler, cmd/compile/internal/staticdata/embed.go): a slice of 48-byte
 * records {namePtr, nameLen, dataPtr, dataLen, hash}, strings pointing into the loaded image,
 * reached through a slice header {ptr, len, cap}. We find one record by its name
 * ("src/auto/run.ts"), then the slice header that contains it, which gives the whole table.
 * Linux (ELF) and macOS (Mach-O) binaries are read; both give the same files (checked for 4.17.1).
 *
 * Cached under node_modules/.cache/coconut-sst/<sst version>/platform, so a fresh clone after
 * `npm ci` extracts once; nothing of SST's code is committed here.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ANCHOR = 'src/auto/run.ts';
const RECORD = 48;

export interface SstPlatform {
  /** Version of the installed `sst` package. */
  version: string;
  /** Directory holding package.json, src/, dist/, functions/ of SST's platform. */
  dir: string;
  /** platform/package.json: the dependency versions SST's components are written against. */
  packageJson: { name: string; dependencies: Record<string, string> };
}

interface Segment {
  vaddr: number;
  offset: number;
  size: number;
}

/** The `sst` CLI binary of this machine's platform, as the `sst` package installs it. */
export function sstBinary(root = ROOT): { version: string; binary: string } {
  // The same lookup as the package's launcher (node_modules/sst/bin/sst.mjs): sst-<platform>-<arch>/bin/sst.
  const req = createRequire(path.join(root, 'package.json'));
  let dir = path.dirname(req.resolve('sst'));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  const version = (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const name = `sst-${process.platform}-${process.arch}`;
  try {
    return { version, binary: createRequire(path.join(dir, 'package.json')).resolve(`${name}/bin/sst`) };
  } catch {
    throw new Error(`the sst binary package ${name} is not installed (npm ci installs it with sst ${version})`);
  }
}

/** Where the loaded image's bytes are in the file, and which sections hold data: ELF (Linux) or Mach-O (macOS). */
function loadSegments(image: Buffer, file: string): { segments: Segment[]; sections: Segment[] } {
  if (image.readUInt32BE(0) === 0x7f454c46 && image[4] === 2 && image[5] === 1) return elfSegments(image);
  if (image.readUInt32LE(0) === 0xfeedfacf) return machoSegments(image);
  throw new Error(
    `${file} is neither a 64-bit little-endian ELF nor a 64-bit Mach-O file: SST's platform cannot be read from it`,
  );
}

function elfSegments(elf: Buffer): { segments: Segment[]; sections: Segment[] } {
  const segments: Segment[] = [];
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  for (let i = 0; i < elf.readUInt16LE(0x38); i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 1) continue; // PT_LOAD
    segments.push({
      offset: Number(elf.readBigUInt64LE(ph + 8)),
      vaddr: Number(elf.readBigUInt64LE(ph + 16)),
      size: Number(elf.readBigUInt64LE(ph + 32)),
    });
  }
  // Sections that hold data (allocated, not executable, with bytes in the file): where the table can be.
  const sections: Segment[] = [];
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  for (let i = 0; i < elf.readUInt16LE(0x3c); i++) {
    const sh = shoff + i * shentsize;
    const type = elf.readUInt32LE(sh + 4);
    const flags = Number(elf.readBigUInt64LE(sh + 8));
    const SHF_ALLOC = 2;
    const SHF_EXECINSTR = 4;
    if (type !== 1 || !(flags & SHF_ALLOC) || flags & SHF_EXECINSTR) continue; // PROGBITS only
    sections.push({
      vaddr: Number(elf.readBigUInt64LE(sh + 16)),
      offset: Number(elf.readBigUInt64LE(sh + 24)),
      size: Number(elf.readBigUInt64LE(sh + 32)),
    });
  }
  return { segments, sections };
}

/** Mach-O 64 (<mach-o/loader.h>): LC_SEGMENT_64 commands and their sections. */
function machoSegments(macho: Buffer): { segments: Segment[]; sections: Segment[] } {
  const LC_SEGMENT_64 = 0x19;
  const S_ZEROFILL = 1;
  const S_ATTR_SOME_INSTRUCTIONS = 0x400;
  const segments: Segment[] = [];
  const sections: Segment[] = [];
  let cmd = 32;
  for (let i = 0; i < macho.readUInt32LE(16); i++) {
    const size = macho.readUInt32LE(cmd + 4);
    if (macho.readUInt32LE(cmd) === LC_SEGMENT_64) {
      segments.push({
        vaddr: Number(macho.readBigUInt64LE(cmd + 24)),
        offset: Number(macho.readBigUInt64LE(cmd + 40)),
        size: Number(macho.readBigUInt64LE(cmd + 48)),
      });
      for (let j = 0; j < macho.readUInt32LE(cmd + 64); j++) {
        const sect = cmd + 72 + j * 80;
        const flags = macho.readUInt32LE(sect + 64);
        if ((flags & 0xff) === S_ZEROFILL || flags & S_ATTR_SOME_INSTRUCTIONS) continue;
        sections.push({
          vaddr: Number(macho.readBigUInt64LE(sect + 32)),
          size: Number(macho.readBigUInt64LE(sect + 40)),
          offset: macho.readUInt32LE(sect + 48),
        });
      }
    }
    cmd += size;
  }
  return { segments, sections };
}

/** The files of the embed.FS that holds SST's platform, read from the binary. */
export function readEmbeddedPlatform(binary: string): Map<string, Buffer> {
  const elf = readFileSync(binary);
  const { segments, sections } = loadSegments(elf, binary);
  const toOffset = (vaddr: number, length: number): number | undefined => {
    const s = segments.find((seg) => vaddr >= seg.vaddr && vaddr + length <= seg.vaddr + seg.size);
    return s ? s.offset + (vaddr - s.vaddr) : undefined;
  };
  const stringAt = (ptr: number, len: number): Buffer | undefined => {
    const at = toOffset(ptr, len);
    return at === undefined ? undefined : elf.subarray(at, at + len);
  };
  const u64 = (offset: number) => Number(elf.readBigUInt64LE(offset));
  const vaddrOf = (section: Segment, offset: number) => section.vaddr + (offset - section.offset);

  // 1. A record whose name is the anchor file and whose data is non-empty.
  const anchorBytes = Buffer.from(ANCHOR);
  const anchors: number[] = [];
  for (const section of sections) {
    const words = new BigUint64Array(
      elf.buffer.slice(elf.byteOffset + section.offset, elf.byteOffset + section.offset + (section.size & ~7)),
    );
    for (let i = 0; i + 3 < words.length; i++) {
      if (words[i + 1] !== BigInt(anchorBytes.length) || words[i + 3] === 0n) continue;
      const name = stringAt(Number(words[i] as bigint), anchorBytes.length);
      if (name?.equals(anchorBytes)) anchors.push(vaddrOf(section, section.offset + i * 8));
    }
  }
  if (anchors.length === 0) {
    throw new Error(
      `${binary}: no embedded file named ${ANCHOR}: this sst version does not embed its platform the way Go's embed.FS does`,
    );
  }

  // 2. The slice header {ptr, len, cap} of the table that holds an anchor record.
  for (const section of sections) {
    for (let off = section.offset; off + 24 <= section.offset + section.size; off += 8) {
      const len = u64(off + 8);
      if (len === 0 || len > 100_000 || u64(off + 16) !== len) continue;
      const ptr = u64(off);
      const anchor = anchors.find((a) => a >= ptr && a < ptr + len * RECORD && (a - ptr) % RECORD === 0);
      if (anchor === undefined) continue;
      const table = toOffset(ptr, len * RECORD);
      if (table === undefined) continue;
      const files = new Map<string, Buffer>();
      let valid = true;
      for (let i = 0; i < len && valid; i++) {
        const rec = table + i * RECORD;
        const nameLen = u64(rec + 8);
        const name = nameLen > 0 && nameLen < 1024 ? stringAt(u64(rec), nameLen)?.toString('utf8') : undefined;
        const dataLen = u64(rec + 24);
        const data = dataLen === 0 ? Buffer.alloc(0) : stringAt(u64(rec + 16), dataLen);
        if (!name || !data || name.startsWith('/') || name.split('/').includes('..')) valid = false;
        else files.set(name, data);
      }
      if (valid && files.has('package.json')) return files;
    }
  }
  throw new Error(`${binary}: found ${ANCHOR} but no embed.FS file table around it`);
}

/** Extracts (once per sst version) and returns SST's platform directory. */
export function sstPlatform(root = ROOT): SstPlatform {
  const { version, binary } = sstBinary(root);
  const base = path.join(root, 'node_modules', '.cache', 'coconut-sst', version);
  const dir = path.join(base, 'platform');
  // The copy is written to a staging folder and renamed into place (atomic), so `dir` is always
  // complete; a test worker that loses the race drops its own copy.
  if (!existsSync(path.join(dir, 'package.json'))) {
    const files = readEmbeddedPlatform(binary);
    const staging = `${dir}.${process.pid}.${Date.now()}`;
    for (const [name, data] of files) {
      const target = path.join(staging, name);
      if (name.endsWith('/')) mkdirSync(target, { recursive: true });
      else {
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, data);
      }
    }
    try {
      renameSync(staging, dir);
      const digest = createHash('sha256');
      for (const [name, data] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) digest.update(name).update(data);
      writeFileSync(path.join(base, 'platform.sha256'), `${digest.digest('hex')} ${files.size} files from ${binary}\n`);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(path.join(dir, 'package.json'))) throw error;
    }
  }
  const packageJson = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as SstPlatform['packageJson'];
  if (packageJson.name !== '@sst/platform') throw new Error(`${dir}/package.json is ${packageJson.name}, not @sst/platform`);
  return { version, dir, packageJson };
}
