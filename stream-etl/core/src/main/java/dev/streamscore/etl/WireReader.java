package dev.streamscore.etl;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The protobuf wire format read in place from a buffer, for the serving path: protobuf's {@code
 * CodedInputStream} is an object per row read (60 tiles a view make it a few KB a request), this is
 * one reused cursor. Reads by absolute index and never moves the buffer's position. Anything that
 * is not well-formed, or runs past the current limit, is an {@link IOException}. Groups (proto2
 * only; never in our messages) are refused as malformed. Not thread-safe.
 */
final class WireReader {
  static final int VARINT = 0;
  static final int FIXED64 = 1;
  static final int LENGTH_DELIMITED = 2;
  static final int FIXED32 = 5;

  private ByteBuffer buf;
  private int pos;
  private int limit;

  /** Reads {@code buf} from its position to its limit. */
  void reset(ByteBuffer buf) {
    this.buf = buf;
    this.pos = buf.position();
    this.limit = buf.limit();
  }

  int position() {
    return pos;
  }

  ByteBuffer buffer() {
    return buf;
  }

  boolean atEnd() {
    return pos >= limit;
  }

  /** The next field's tag (field number and wire type); only when not {@link #atEnd()}. */
  int readTag() throws IOException {
    long tag = readVarint();
    if (tag >>> 3 == 0 || tag > Integer.MAX_VALUE) {
      throw new IOException("invalid tag " + tag + " at " + pos);
    }
    return (int) tag;
  }

  static int wireType(int tag) {
    return tag & 7;
  }

  long readVarint() throws IOException {
    long result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= limit) {
        throw new IOException("a varint runs past its end at " + pos);
      }
      byte b = buf.get(pos++);
      result |= (long) (b & 0x7f) << shift;
      if (b >= 0) {
        return result;
      }
    }
    throw new IOException("a varint longer than 10 bytes at " + pos);
  }

  double readDouble() throws IOException {
    require(8);
    long bits = 0;
    for (int i = 7; i >= 0; i--) {
      bits = bits << 8 | (buf.get(pos + i) & 0xffL);
    }
    pos += 8;
    return Double.longBitsToDouble(bits);
  }

  /** A length prefix, checked to end within the current limit. */
  int readLength() throws IOException {
    long length = readVarint();
    if (length < 0 || length > limit - pos) {
      throw new IOException("a length of " + length + " runs past its end at " + pos);
    }
    return (int) length;
  }

  /**
   * Narrows reading to the next {@code length} bytes.
   *
   * @return the limit to give back to {@link #popLimit} once they are read
   */
  int pushLimit(int length) throws IOException {
    if (length < 0 || length > limit - pos) {
      throw new IOException("a length of " + length + " runs past its end at " + pos);
    }
    int old = limit;
    limit = pos + length;
    return old;
  }

  void popLimit(int old) {
    pos = limit;
    limit = old;
  }

  void skipBytes(int n) throws IOException {
    require(n);
    pos += n;
  }

  byte[] readBytes() throws IOException {
    int n = readLength();
    byte[] out = new byte[n];
    buf.get(pos, out, 0, n);
    pos += n;
    return out;
  }

  /** Skips the field whose tag was just read. */
  void skipField(int tag) throws IOException {
    switch (wireType(tag)) {
      case VARINT -> readVarint();
      case FIXED64 -> skipBytes(8);
      case LENGTH_DELIMITED -> skipBytes(readLength());
      case FIXED32 -> skipBytes(4);
      default -> throw new IOException("wire type " + wireType(tag) + " at " + pos);
    }
  }

  private void require(int n) throws IOException {
    if (n < 0 || n > limit - pos) {
      throw new IOException(n + " bytes run past the end at " + pos);
    }
  }
}
