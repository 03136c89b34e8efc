#include "proxy/http_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth::proxy {
namespace {

struct Recorder final : BodySink {
  std::string body;
  std::vector<uint64_t> chunks;
  int chunk_ends = 0;
  void OnBody(const char* p, size_t n) override { body.append(p, n); }
  void OnChunkHeader(uint64_t size) override { chunks.push_back(size); }
  void OnChunkComplete() override { ++chunk_ends; }
};

// Feeds `input` to a fresh parser in pieces of `step` bytes (0: all at once) through
// one contiguous buffer, as the connection code does. Returns the final status.
struct ParseRun {
  ParseStatus status = ParseStatus::kNeedMore;
  int error = 0;
  size_t consumed = 0;  // of the whole input, when the head or message completed
  MessageHead head;
  std::string base;
};

ParseRun Parse(const std::string& input, size_t step = 0, const ParseLimits& limits = {},
               HttpParser::Kind kind = HttpParser::Kind::kRequest, Recorder* sink = nullptr) {
  ParseRun r;
  r.base = input;
  HttpParser p(kind);
  p.set_limits(&limits);
  p.set_head(&r.head);
  p.set_sink(sink);
  size_t off = 0;
  size_t end = step == 0 ? input.size() : std::min(step, input.size());
  for (;;) {
    ParseResult pr = p.Execute(r.base.data(), r.base.data() + off, end - off);
    off += pr.consumed;
    if (pr.status != ParseStatus::kNeedMore) {
      r.status = pr.status;
      r.error = p.error_status();
      r.consumed = off;
      return r;
    }
    if (end == input.size()) return r;
    end = std::min(input.size(), end + step);
  }
}

std::string Header(const ParseRun& r, const char* name) {
  for (uint32_t i = 0; i < r.head.num_headers; ++i) {
    const HeaderField& h = r.head.headers[i];
    if (r.head.Get(r.base.data(), h.name) == name) return std::string(r.head.Get(r.base.data(), h.value));
  }
  return "<none>";
}

TEST(HttpParser, ParsesARequestHeadIntoSpans) {
  ParseRun r =
      Parse("GET /a/b?c=d HTTP/1.1\r\nHost: api.shop.localhost:8080\r\nX-Long:  spaced value  \r\n\r\n");
  ASSERT_EQ(r.status, ParseStatus::kHeadComplete);
  EXPECT_EQ(r.head.Get(r.base.data(), r.head.url), "/a/b?c=d");
  EXPECT_EQ(r.head.method, HTTP_GET);
  EXPECT_EQ(r.head.http_minor, 1);
  EXPECT_TRUE(r.head.keep_alive);
  EXPECT_EQ(r.head.num_headers, 2u);
  EXPECT_EQ(Header(r, "Host"), "api.shop.localhost:8080");
  EXPECT_EQ(Header(r, "X-Long"), "spaced value");  // OWS trimmed both sides
  EXPECT_EQ(r.consumed, r.base.size());
}

TEST(HttpParser, SameHeadWhateverTheReadBoundaries) {
  std::string req =
      "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
  ParseRun whole = Parse(req);
  for (size_t step = 1; step < 12; ++step) {
    ParseRun r = Parse(req, step);
    ASSERT_EQ(r.status, ParseStatus::kHeadComplete) << step;
    EXPECT_EQ(Header(r, "Content-Type"), "text/plain") << step;
    EXPECT_EQ(r.head.content_length, 5u);
    EXPECT_EQ(r.consumed, whole.consumed) << step;
  }
}

TEST(HttpParser, RequestErrorsTable) {
  std::string big_url(9000, 'a');
  std::string many;
  for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  std::string huge = "X-Big: " + std::string(70 * 1024, 'v') + "\r\n";
  struct Case {
    const char* name;
    std::string input;
    int status;
  } cases[] = {
      {"whitespace before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
      {"whitespace inside a name (found by the fuzzer)", "GET / HTTP/1.1\r\nHost A:b.localhost\r\n\r\n", 400},
      {"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", 400},
      {"CL and TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},
      {"TE and CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
       400},
      {"conflicting CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
       400},
      {"duplicate CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
       400},
      {"CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", 400},
      {"negative CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
      {"TE not ending in chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
      {"TE chunked twice",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"bare LF in value", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400},
      {"control byte in value", "GET / HTTP/1.1\r\nHost: a\x01z\r\n\r\n", 400},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"HTTP/0.9", "GET /\r\n\r\n", 505},
      {"bad method", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"request line over 8 KiB", "GET /" + big_url + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
      {"101 fields", "GET / HTTP/1.1\r\n" + many + "\r\n", 431},
      {"64 KiB of fields", "GET / HTTP/1.1\r\nHost: a\r\n" + huge + "\r\n", 431},
  };
  for (const Case& c : cases) {
    for (size_t step : {size_t{0}, size_t{1}, size_t{7}}) {
      ParseRun r = Parse(c.input, step);
      EXPECT_EQ(r.status, ParseStatus::kError) << c.name << " step " << step;
      EXPECT_EQ(r.error, c.status) << c.name << " step " << step;
    }
  }
}

TEST(HttpParser, HundredFieldsAreFine) {
  std::string h = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 100; ++i) h += "X-" + std::to_string(i) + ": v\r\n";
  ParseRun r = Parse(h + "\r\n");
  EXPECT_EQ(r.status, ParseStatus::kHeadComplete);
  EXPECT_EQ(r.head.num_headers, 100u);
}

TEST(HttpParser, BodyLimit) {
  ParseLimits limits;
  limits.max_body = 10;
  ParseRun cl = Parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", 0, limits);
  EXPECT_EQ(cl.status, ParseStatus::kError);
  EXPECT_EQ(cl.error, 413);
  // Chunked: the limit applies to the decoded bytes as they stream.
  std::string chunked =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
      "chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n";
  HttpParser p(HttpParser::Kind::kRequest);
  p.set_limits(&limits);
  MessageHead head;
  p.set_head(&head);
  ParseResult r = p.Execute(chunked.data(), chunked.data(), chunked.size());
  ASSERT_EQ(r.status, ParseStatus::kHeadComplete);
  r = p.Execute(chunked.data(), chunked.data() + r.consumed, chunked.size() - r.consumed);
  EXPECT_EQ(r.status, ParseStatus::kError);
  EXPECT_EQ(p.error_status(), 413);
}

TEST(HttpParser, BadChunkSizes) {
  for (const char* chunk :
       {"zz\r\nabc\r\n0\r\n\r\n", "3 \r\nabc\r\n0\r\n\r\n", "fffffffffffffffffff\r\nabc\r\n",
        "-3\r\nabc\r\n0\r\n\r\n", "3\r\nabcX\r\n0\r\n\r\n"}) {
    std::string req = std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n") + chunk;
    HttpParser p(HttpParser::Kind::kRequest);
    MessageHead head;
    p.set_head(&head);
    ParseResult r = p.Execute(req.data(), req.data(), req.size());
    ASSERT_EQ(r.status, ParseStatus::kHeadComplete);
    r = p.Execute(req.data(), req.data() + r.consumed, req.size() - r.consumed);
    EXPECT_EQ(r.status, ParseStatus::kError) << chunk;
    EXPECT_EQ(p.error_status(), 400) << chunk;
  }
}

TEST(HttpParser, ChunkedBodyGoesToTheSinkAndStopsAtTheMessageEnd) {
  std::string req =
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n"
      "GET /next HTTP/1.1\r\n";
  Recorder rec;
  HttpParser p(HttpParser::Kind::kRequest);
  MessageHead head;
  p.set_head(&head);
  p.set_sink(&rec);
  ParseResult r = p.Execute(req.data(), req.data(), req.size());
  ASSERT_EQ(r.status, ParseStatus::kHeadComplete);
  EXPECT_TRUE(head.chunked);
  size_t off = r.consumed;
  p.set_head(nullptr);  // trailers are not recorded
  r = p.Execute(req.data(), req.data() + off, req.size() - off);
  ASSERT_EQ(r.status, ParseStatus::kMessageComplete);
  off += r.consumed;
  EXPECT_EQ(rec.body, "abcde");
  EXPECT_EQ(rec.chunks, (std::vector<uint64_t>{3, 2, 0}));
  EXPECT_EQ(rec.chunk_ends, 2);
  EXPECT_EQ(req.substr(off), "GET /next HTTP/1.1\r\n");  // the next message is left alone
}

TEST(HttpParser, PipelinedMessagesOneAtATime) {
  std::string in = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n";
  HttpParser p(HttpParser::Kind::kRequest);
  MessageHead head;
  p.set_head(&head);
  ParseResult r = p.Execute(in.data(), in.data(), in.size());
  ASSERT_EQ(r.status, ParseStatus::kHeadComplete);
  EXPECT_EQ(head.Get(in.data(), head.url), "/a");
  size_t off = r.consumed;
  r = p.Execute(in.data(), in.data() + off, 0);  // no body: completes without more input
  ASSERT_EQ(r.status, ParseStatus::kMessageComplete);
  r = p.Execute(in.data(), in.data() + off, in.size() - off);
  ASSERT_EQ(r.status, ParseStatus::kHeadComplete);
  EXPECT_EQ(head.Get(in.data(), head.url), "/b");
}

TEST(HttpParser, UpgradeStopsAtTheHead) {
  std::string in = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nFRAMES";
  HttpParser p(HttpParser::Kind::kRequest);
  MessageHead head;
  p.set_head(&head);
  ParseResult r = p.Execute(in.data(), in.data(), in.size());
  ASSERT_EQ(r.status, ParseStatus::kHeadComplete);
  EXPECT_TRUE(head.upgrade);
  size_t off = r.consumed;
  r = p.Execute(in.data(), in.data() + off, in.size() - off);
  EXPECT_EQ(r.status, ParseStatus::kUpgrade);
  EXPECT_EQ(in.substr(off + r.consumed), "FRAMES");
}

TEST(HttpParser, ResponsesInterimHeadAndEof) {
  // 100 Continue, then the real response.
  std::string in = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  Recorder rec;
  HttpParser p(HttpParser::Kind::kResponse);
  MessageHead head;
  p.set_head(&head);
  p.set_sink(&rec);
  size_t off = 0;
  std::vector<ParseStatus> seen;
  std::vector<int> statuses;
  while (off < in.size() || seen.size() < 4) {
    ParseResult r = p.Execute(in.data(), in.data() + off, in.size() - off);
    off += r.consumed;
    seen.push_back(r.status);
    if (r.status == ParseStatus::kHeadComplete) statuses.push_back(head.status);
    if (seen.size() > 6) break;
  }
  EXPECT_EQ(statuses, (std::vector<int>{100, 200}));
  EXPECT_EQ(rec.body, "ok");

  // A body delimited by the connection close.
  std::string eof = "HTTP/1.0 200 OK\r\n\r\nuntil close";
  HttpParser q(HttpParser::Kind::kResponse);
  q.set_head(&head);
  Recorder rec2;
  q.set_sink(&rec2);
  ParseResult r = q.Execute(eof.data(), eof.data(), eof.size());
  ASSERT_EQ(r.status, ParseStatus::kHeadComplete);
  EXPECT_TRUE(q.message_needs_eof());
  r = q.Execute(eof.data(), eof.data() + r.consumed, eof.size() - r.consumed);
  EXPECT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(q.Finish(), ParseStatus::kMessageComplete);
  EXPECT_EQ(rec2.body, "until close");

  // A response to HEAD has no body even with Content-Length.
  std::string h = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
  HttpParser s(HttpParser::Kind::kResponse);
  s.set_head(&head);
  r = s.Execute(h.data(), h.data(), h.size());
  ASSERT_EQ(r.status, ParseStatus::kHeadComplete);
  s.SkipBody();
  size_t o = r.consumed;
  r = s.Execute(h.data(), h.data() + o, h.size() - o);
  EXPECT_EQ(r.status, ParseStatus::kMessageComplete);
  EXPECT_EQ(r.consumed, 0u);
}

TEST(HttpParser, TruncatedResponseIsAnErrorAtEof) {
  std::string in = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  HttpParser p(HttpParser::Kind::kResponse);
  MessageHead head;
  p.set_head(&head);
  ParseResult r = p.Execute(in.data(), in.data(), in.size());
  ASSERT_EQ(r.status, ParseStatus::kHeadComplete);
  r = p.Execute(in.data(), in.data() + r.consumed, in.size() - r.consumed);
  EXPECT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(p.Finish(), ParseStatus::kError);
}

TEST(HttpParser, TokenChars) {
  EXPECT_TRUE(IsTokenChar('a'));
  EXPECT_TRUE(IsTokenChar('~'));
  EXPECT_FALSE(IsTokenChar(' '));
  EXPECT_FALSE(IsTokenChar(':'));
  EXPECT_FALSE(IsTokenChar(0x80));
}

}  // namespace
}  // namespace berth::proxy
