#include "base/status.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

Status Quarter(int x, int* out) {
  BERTH_ASSIGN_OR_RETURN(int h, Half(x));
  BERTH_ASSIGN_OR_RETURN(*out, Half(h));
  return OkStatus();
}

TEST(Status, OkAndContext) {
  EXPECT_TRUE(OkStatus().ok());
  EXPECT_TRUE(OkStatus().WithContext("ignored").ok());
  Status s = NotFound("no such env").WithContext("show shop");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "show shop: no such env");
  EXPECT_EQ(s.ToString(), "NotFound: show shop: no such env");
}

TEST(Status, StatusOrPropagates) {
  int out = 0;
  EXPECT_TRUE(Quarter(8, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = Quarter(6, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd");
}

TEST(Status, StatusOrFromOkStatusIsInternal) {
  StatusOr<int> v{OkStatus()};
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInternal);
}

TEST(Status, ErrnoMapsCodes) {
  EXPECT_EQ(ErrnoStatus("open x", ENOENT).code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus("open x", EACCES).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus("open x", EIO).code(), StatusCode::kInternal);
  EXPECT_NE(ErrnoStatus("open x", ENOENT).message().find("open x: "), std::string::npos);
}

}  // namespace
}  // namespace berth
