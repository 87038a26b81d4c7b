// Tests of the C status API and the internal status helpers.
#include "Status.h"

#include <gtest/gtest.h>

#include <string>

using namespace ssm::runtime;

TEST(StatusTest, NullIsOk) {
  EXPECT_EQ(ssm_status_code(nullptr), SSM_STATUS_OK);
  EXPECT_STREQ(ssm_status_message(nullptr), "");
  ssm_status_free(nullptr); // must be a no-op
}

TEST(StatusTest, CodeNames) {
  EXPECT_STREQ(ssm_status_code_name(SSM_STATUS_OK), "OK");
  EXPECT_STREQ(ssm_status_code_name(SSM_STATUS_INVALID_ARGUMENT),
               "INVALID_ARGUMENT");
  EXPECT_STREQ(ssm_status_code_name(SSM_STATUS_NOT_FOUND), "NOT_FOUND");
  EXPECT_STREQ(ssm_status_code_name(SSM_STATUS_IO_ERROR), "IO_ERROR");
  EXPECT_STREQ(ssm_status_code_name(SSM_STATUS_DATA_LOSS), "DATA_LOSS");
  EXPECT_STREQ(ssm_status_code_name(SSM_STATUS_UNIMPLEMENTED), "UNIMPLEMENTED");
  EXPECT_STREQ(ssm_status_code_name(SSM_STATUS_INCOMPATIBLE), "INCOMPATIBLE");
  EXPECT_STREQ(ssm_status_code_name(SSM_STATUS_INTERNAL), "INTERNAL");
  EXPECT_STREQ(ssm_status_code_name(static_cast<ssm_status_code_t>(99)),
               "UNKNOWN");
}

TEST(StatusTest, MakeStatusFormatsLongMessages) {
  std::string longName(1000, 'n');
  ssm_status_t status = makeStatus(SSM_STATUS_DATA_LOSS, "{}: tensor '{}' {}",
                                   "model.safetensors", longName, 42);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(ssm_status_code(status), SSM_STATUS_DATA_LOSS);
  EXPECT_EQ(std::string(ssm_status_message(status)),
            "model.safetensors: tensor '" + longName + "' 42");
  ssm_status_free(status);
}

TEST(StatusTest, MessageWithoutArgumentsIsNotFormatted) {
  // A message read at run time (a driver's, an exception's) may hold braces.
  ssm_status_t status = makeStatus(SSM_STATUS_IO_ERROR, "unexpected '{'");
  ASSERT_NE(status, nullptr);
  EXPECT_STREQ(ssm_status_message(status), "unexpected '{'");
  ssm_status_free(status);
}

TEST(StatusTest, FormatThatDoesNotFitItsArgumentsIsInternal) {
  ssm_status_t status =
      makeStatus(SSM_STATUS_DATA_LOSS, fmt::runtime("{} and {}"), 1);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(ssm_status_code(status), SSM_STATUS_INTERNAL);
  EXPECT_NE(std::string(ssm_status_message(status)).find("{} and {}"),
            std::string::npos);
  ssm_status_free(status);
}

TEST(StatusTest, ErrorStatusNeverReadsAsOk) {
  ssm_status_t status = makeStatus(SSM_STATUS_OK, "oops");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(ssm_status_code(status), SSM_STATUS_INTERNAL);
  EXPECT_STREQ(ssm_status_message(status), "oops");
  ssm_status_free(status);
}

TEST(StatusTest, OutOfMemoryStatusSurvivesFree) {
  ssm_status_t status = outOfMemoryStatus();
  ssm_status_free(status); // static: must not be deleted
  EXPECT_EQ(ssm_status_code(outOfMemoryStatus()), SSM_STATUS_INTERNAL);
  EXPECT_STREQ(ssm_status_message(outOfMemoryStatus()), "out of memory");
}
