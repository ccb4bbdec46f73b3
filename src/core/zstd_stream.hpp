// zstd (RFC 8878) compression as std::streambuf adapters, so that a writer or reader of a large
// file streams through a fixed-size buffer instead of holding the file in memory.
#pragma once
#include <cstdint>
#include <istream>
#include <ostream>
#include <streambuf>
#include <vector>

namespace attnbounds {

// Compresses what is written to it into `sink`.  finish() ends the frame and must be called once
// all data is written; without it the output is an incomplete frame, which ZstdInputBuf rejects.
// A compression error or a failing sink makes the next write fail (badbit on the ostream).
class ZstdOutputBuf : public std::streambuf {
 public:
  explicit ZstdOutputBuf(std::ostream& sink, int level = 3);
  ~ZstdOutputBuf() override;
  ZstdOutputBuf(const ZstdOutputBuf&) = delete;
  ZstdOutputBuf& operator=(const ZstdOutputBuf&) = delete;
  // Returns false if anything could not be compressed or written.
  bool finish();

 protected:
  int_type overflow(int_type ch) override;
  int sync() override;

 private:
  bool compress(bool end_frame);
  std::ostream& sink_;
  void* ctx_;
  std::vector<char> in_, out_;
  bool failed_ = false, finished_ = false;
};

// Decompresses `source` (one or more concatenated zstd frames).  A corrupt stream, or one that
// ends inside a frame, throws std::invalid_argument("zstd: ...") from the read that meets it; so
// does decompressed output beyond max_output bytes.
class ZstdInputBuf : public std::streambuf {
 public:
  explicit ZstdInputBuf(std::istream& source, std::uint64_t max_output = std::uint64_t{1} << 40);
  ~ZstdInputBuf() override;
  ZstdInputBuf(const ZstdInputBuf&) = delete;
  ZstdInputBuf& operator=(const ZstdInputBuf&) = delete;

 protected:
  int_type underflow() override;

 private:
  std::istream& source_;
  void* ctx_;
  std::vector<char> in_, out_;
  std::size_t in_pos_ = 0, in_size_ = 0;
  std::uint64_t produced_ = 0, max_output_;
  bool frame_open_ = false;   // inside a frame whose end has not been decoded yet
  bool source_done_ = false;  // the compressed input is used up
};

// True when the four bytes are the zstd frame magic number (28 B5 2F FD).
bool is_zstd_magic(const unsigned char* bytes, std::size_t size);

}  // namespace attnbounds
