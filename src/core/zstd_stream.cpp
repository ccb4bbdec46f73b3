#include "core/zstd_stream.hpp"

#include <zstd.h>

#include <stdexcept>
#include <string>

namespace attnbounds {

namespace {
ZSTD_CCtx* cctx(void* p) { return static_cast<ZSTD_CCtx*>(p); }
ZSTD_DCtx* dctx(void* p) { return static_cast<ZSTD_DCtx*>(p); }
}  // namespace

ZstdOutputBuf::ZstdOutputBuf(std::ostream& sink, int level)
    : sink_(sink), ctx_(ZSTD_createCCtx()), in_(ZSTD_CStreamInSize()), out_(ZSTD_CStreamOutSize()) {
  if (!ctx_) throw std::bad_alloc();
  ZSTD_CCtx_setParameter(cctx(ctx_), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx(ctx_), ZSTD_c_checksumFlag, 1);  // a flipped bit is caught on reading
  setp(in_.data(), in_.data() + in_.size());
}

ZstdOutputBuf::~ZstdOutputBuf() { ZSTD_freeCCtx(cctx(ctx_)); }

bool ZstdOutputBuf::compress(bool end_frame) {
  if (failed_) return false;
  ZSTD_inBuffer input{in_.data(), static_cast<std::size_t>(pptr() - pbase()), 0};
  const ZSTD_EndDirective mode = end_frame ? ZSTD_e_end : ZSTD_e_continue;
  for (;;) {
    ZSTD_outBuffer output{out_.data(), out_.size(), 0};
    const std::size_t left = ZSTD_compressStream2(cctx(ctx_), &output, &input, mode);
    if (ZSTD_isError(left)) return !(failed_ = true);
    if (output.pos > 0 && !sink_.write(out_.data(), static_cast<std::streamsize>(output.pos))) return !(failed_ = true);
    // Done when the input is consumed and (when ending the frame) zstd has nothing left to flush.
    if (input.pos == input.size && (!end_frame || left == 0)) break;
  }
  setp(in_.data(), in_.data() + in_.size());
  return true;
}

ZstdOutputBuf::int_type ZstdOutputBuf::overflow(int_type ch) {
  if (finished_ || !compress(false)) return traits_type::eof();
  if (!traits_type::eq_int_type(ch, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(ch);
    pbump(1);
  }
  return traits_type::not_eof(ch);
}

int ZstdOutputBuf::sync() { return finished_ || compress(false) ? 0 : -1; }

bool ZstdOutputBuf::finish() {
  if (finished_) return !failed_;
  const bool ok = compress(true);
  finished_ = true;
  return ok && sink_.flush().good();
}

ZstdInputBuf::ZstdInputBuf(std::istream& source, std::uint64_t max_output)
    : source_(source), ctx_(ZSTD_createDCtx()), in_(ZSTD_DStreamInSize()), out_(ZSTD_DStreamOutSize()), max_output_(max_output) {
  if (!ctx_) throw std::bad_alloc();
  setg(out_.data(), out_.data(), out_.data());
}

ZstdInputBuf::~ZstdInputBuf() { ZSTD_freeDCtx(dctx(ctx_)); }

ZstdInputBuf::int_type ZstdInputBuf::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  for (;;) {
    if (in_pos_ == in_size_ && !source_done_) {
      source_.read(in_.data(), static_cast<std::streamsize>(in_.size()));
      in_size_ = static_cast<std::size_t>(source_.gcount());
      in_pos_ = 0;
      source_done_ = in_size_ == 0;
    }
    if (source_done_ && !frame_open_) return traits_type::eof();
    // With the input used up, one more call flushes what the decoder still holds.
    ZSTD_inBuffer input{in_.data(), source_done_ ? 0 : in_size_, source_done_ ? 0 : in_pos_};
    ZSTD_outBuffer output{out_.data(), out_.size(), 0};
    const std::size_t hint = ZSTD_decompressStream(dctx(ctx_), &output, &input);
    if (ZSTD_isError(hint)) throw std::invalid_argument(std::string("zstd: corrupt compressed data (") + ZSTD_getErrorName(hint) + ")");
    if (!source_done_) in_pos_ = input.pos;
    frame_open_ = hint != 0;
    if (output.pos > 0) {
      produced_ += output.pos;
      if (produced_ > max_output_)
        throw std::invalid_argument("zstd: decompresses to more than " + std::to_string(max_output_) + " bytes");
      setg(out_.data(), out_.data(), out_.data() + output.pos);
      return traits_type::to_int_type(*gptr());
    }
    if (source_done_ && frame_open_) throw std::invalid_argument("zstd: the compressed data end inside a frame (truncated file)");
  }
}

bool is_zstd_magic(const unsigned char* b, std::size_t size) {
  return size >= 4 && b[0] == 0x28 && b[1] == 0xB5 && b[2] == 0x2F && b[3] == 0xFD;
}

}  // namespace attnbounds
