/** Larger than any response this package asks for (fetches ask for at most tens of MiB). */
export const MAX_FRAME_BYTES = 512 * 1024 * 1024;

/**
 * Splits a byte stream into Kafka frames (an int32 size, then that many bytes). A frame
 * inside one chunk is handed on as a view of it; one spread over chunks is copied once,
 * when its last byte has arrived, never re-concatenated per chunk.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private frameSize = -1;

  constructor(
    private readonly onFrame: (frame: Buffer) => void,
    private readonly onError: (error: Error) => void,
  ) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.frameSize < 0) {
        if (this.buffered < 4) return;
        const size = this.take(4).readInt32BE(0);
        if (size < 0 || size > MAX_FRAME_BYTES) {
          this.onError(new Error(`a response frame of ${size} bytes (at most ${MAX_FRAME_BYTES})`));
          this.chunks = [];
          this.buffered = 0;
          return;
        }
        this.frameSize = size;
      }
      if (this.buffered < this.frameSize) return;
      const frame = this.take(this.frameSize);
      this.frameSize = -1;
      this.onFrame(frame);
    }
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const chunk = this.chunks[0]!;
        const k = Math.min(chunk.length, n - filled);
        chunk.copy(out, filled, 0, k);
        filled += k;
        if (k === chunk.length) this.chunks.shift();
        else this.chunks[0] = chunk.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }
}
