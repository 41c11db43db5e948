#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "common/error.h"
#include "data/archive.h"
#include "support/test_support.h"
#include "unit/data_archive_builders.h"

namespace cadenza {
namespace {

namespace fs = std::filesystem;
using testing::LongNames;
using testing::TarMember;
using testing::ZipMember;

// Expects extraction to throw FormatError whose message contains every fragment.
void expect_format_error(const std::string& archive, const fs::path& destination,
                         std::initializer_list<std::string> fragments, const ExtractLimits& limits = {}) {
  try {
    extract_archive(archive, destination, limits);
    ADD_FAILURE() << "expected FormatError from " << archive;
  } catch (const FormatError& error) {
    EXPECT_EQ(error.file(), archive);
    for (const auto& fragment : fragments) {
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos)
          << "'" << fragment << "' not in: " << error.what();
    }
  }
}

size_t count_files(const fs::path& root) {
  size_t count = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) count += entry.is_regular_file() ? 1 : 0;
  return count;
}

class DataArchive : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& bytes) {
    testing::write_bytes(dir_.path() / name, bytes);
    return dir_.file(name);
  }
  fs::path out(const std::string& name = "out") const { return dir_.path() / name; }

  testing::TempDir dir_;
};

TEST_F(DataArchive, TarGzWithTopLevelFolderIsUnpackedAndStripped) {
  std::string long_name = "repo-master/" + std::string(90, 'd') + "/" + std::string(60, 'f') + ".mid";
  std::vector<TarMember> members = {
      {"repo-master/", "", '5', "", 0755},
      {"repo-master/README.md", "hello\n"},
      {"repo-master/MIDI/", "", '5', "", 0555},  // read-only directory mode must not block its own files
      {"repo-master/MIDI/a.mid", std::string(1500, '\x90'), '0', "", 0444},
      {"repo-master/tool.sh", "#!/bin/sh\n", '0', "", 0755},
      {long_name, "long"},
  };
  std::string archive = write("a.tar.gz", testing::gzip_bytes(testing::make_tar(members)));
  EXPECT_EQ(detect_archive_format(archive), ArchiveFormat::kTarGzip);

  ExtractSummary summary = extract_archive(archive, out());
  EXPECT_EQ(summary.format, ArchiveFormat::kTarGzip);
  EXPECT_EQ(summary.stripped_folder, "repo-master");
  EXPECT_EQ(summary.content_root, out() / "repo-master");
  EXPECT_EQ(summary.files, 4u);
  EXPECT_EQ(summary.bytes, 6u + 1500u + 10u + 4u);
  EXPECT_EQ(testing::read_bytes(summary.content_root / "README.md"), "hello\n");
  EXPECT_EQ(testing::read_bytes(summary.content_root / "MIDI/a.mid"), std::string(1500, '\x90'));
  EXPECT_EQ(testing::read_bytes(out() / long_name), "long");
  auto mode = fs::status(summary.content_root / "tool.sh").permissions();
  EXPECT_NE(mode & fs::perms::owner_exec, fs::perms::none);
  EXPECT_NE(fs::status(summary.content_root / "MIDI/a.mid").permissions() & fs::perms::owner_write, fs::perms::none);
}

TEST_F(DataArchive, PlainTarWithPaxLongNamesAndNoSingleTopFolder) {
  std::string long_name = std::string(120, 'p') + "/name.json";
  std::vector<TarMember> members = {{"a.txt", "A"}, {long_name, "{}"}};
  std::string archive = write("b.tar", testing::make_tar(members, LongNames::kPax));
  EXPECT_EQ(detect_archive_format(archive), ArchiveFormat::kTar);
  ExtractSummary summary = extract_archive(archive, out());
  EXPECT_EQ(summary.stripped_folder, "");
  EXPECT_EQ(summary.content_root, out());
  EXPECT_EQ(testing::read_bytes(out() / long_name), "{}");
  EXPECT_EQ(testing::read_bytes(out() / "a.txt"), "A");
}

TEST_F(DataArchive, UstarPrefixFieldIsPartOfTheName) {
  std::string header = testing::tar_header("file.txt", 3, '0', "", 0644);
  header.replace(345, 6, "pre/fx");  // prefix field; the checksum must be recomputed
  header.replace(148, 8, "        ");
  unsigned sum = 0;
  for (unsigned char c : header) sum += c;
  testing::put_octal(header, 148, 7, sum);
  std::string tar = header + "abc" + std::string(509, '\0') + std::string(1024, '\0');
  std::string archive = write("prefix.tar", tar);
  extract_archive(archive, out());
  EXPECT_EQ(testing::read_bytes(out() / "pre/fx/file.txt"), "abc");
}

TEST_F(DataArchive, LaterDuplicateWinsAndHardLinkBecomesACopy) {
  std::vector<TarMember> members = {
      {"d/x.txt", "old"}, {"d/x.txt", "new"}, {"d/y.txt", "", '1', "d/x.txt"}, {"d/z", "", '2', "x.txt"}};
  std::string archive = write("dup.tar", testing::make_tar(members));
  ExtractSummary summary = extract_archive(archive, out());
  EXPECT_EQ(testing::read_bytes(out() / "d/x.txt"), "new");
  EXPECT_EQ(testing::read_bytes(out() / "d/y.txt"), "new");
  // A symbolic link inside the archive is accepted but not created.
  EXPECT_FALSE(fs::exists(fs::symlink_status(out() / "d/z")));
  EXPECT_EQ(summary.skipped, 1u);
}

TEST_F(DataArchive, PathTraversalIsRejectedAndNothingIsWrittenOutside) {
  std::string dotdot = write("dotdot.tar.gz", testing::gzip_bytes(testing::make_tar({{"top/../../evil.txt", "x"}})));
  expect_format_error(dotdot, out("o1"), {"top/../../evil.txt", "'..'", "unsafe"});
  EXPECT_FALSE(fs::exists(dir_.path() / "evil.txt"));

  std::string absolute = write("abs.tar", testing::make_tar({{"/tmp/cadenza-evil.txt", "x"}}));
  expect_format_error(absolute, out("o2"), {"absolute", "/tmp/cadenza-evil.txt"});
  EXPECT_FALSE(fs::exists("/tmp/cadenza-evil.txt"));

  std::string long_traversal =
      write("long.tar", testing::make_tar({{std::string(110, 'a') + "/../../../evil.txt", "x"}}, LongNames::kGnu));
  expect_format_error(long_traversal, out("o3"), {"'..'"});

  std::string link_out = write("link1.tar", testing::make_tar({{"a/b/link", "", '2', "../../../etc/passwd"}}));
  expect_format_error(link_out, out("o4"), {"a/b/link", "outside"});
  std::string link_abs = write("link2.tar", testing::make_tar({{"link", "", '2', "/etc/passwd"}}));
  expect_format_error(link_abs, out("o5"), {"absolute target"});
  std::string hard_out = write("link3.tar", testing::make_tar({{"h", "", '1', "../outside.txt"}}));
  expect_format_error(hard_out, out("o6"), {"'..'"});
}

TEST_F(DataArchive, TruncatedAndDamagedArchivesGiveClearErrors) {
  std::string tar = testing::make_tar({{"a.bin", std::string(5000, 'a')}, {"b.bin", "b"}});

  // Cut in the middle of a.bin's data.
  std::string cut = write("cut.tar", tar.substr(0, 512 + 2000));
  expect_format_error(cut, out("o1"), {"truncated", "a.bin"});
  // Gzip of the cut tar: the tar reader reaches the end of the (complete) gzip stream early.
  std::string cut_gz = write("cut.tar.gz", testing::gzip_bytes(tar.substr(0, 512 + 2000)));
  expect_format_error(cut_gz, out("o2"), {"truncated", "decompressed tar stream"});
  // The gzip stream itself cut short.
  std::string gz = testing::gzip_bytes(tar);
  std::string cut_stream = write("cutstream.tar.gz", gz.substr(0, gz.size() / 2));
  expect_format_error(cut_stream, out("o3"), {"truncated gzip"});
  // Everything but the end-of-archive marker.
  std::string no_end = write("noend.tar", testing::make_tar({{"a.bin", "a"}}, LongNames::kGnu, false));
  expect_format_error(no_end, out("o4"), {"end-of-archive marker"});
  // A flipped byte in the second header breaks its checksum.
  std::string damaged = tar;
  damaged[512 + 5120 + 3] ^= 0x20;
  expect_format_error(write("damaged.tar", damaged), out("o5"), {"checksum", "byte 5632"});
  // A wrong CRC in the gzip trailer: only noticed because the reader drains the stream after the tar's end.
  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 8] ^= 0x01;
  expect_format_error(write("badcrc.tar.gz", bad_crc), out("o6"), {"corrupt gzip data"});
  // Garbled compressed data: some FormatError (which check trips first depends on the bytes).
  std::string garbled = gz;
  for (size_t i = 12; i < garbled.size() - 8; ++i) garbled[i] = static_cast<char>(garbled[i] ^ 0x5a);
  expect_format_error(write("garbled.tar.gz", garbled), out("o8"), {});
  // Not an archive at all.
  std::string text = write("notes.txt", "just some text, not an archive\n");
  EXPECT_EQ(detect_archive_format(text), ArchiveFormat::kUnknown);
  expect_format_error(text, out("o7"), {"not a tar, tar.gz or zip"});
}

TEST_F(DataArchive, ConcatenatedGzipMembersAreOneStream) {
  std::string tar = testing::make_tar({{"a.txt", std::string(3000, 'q')}, {"b.txt", "bee"}});
  std::string archive =
      write("multi.tar.gz", testing::gzip_bytes(tar.substr(0, 1024)) + testing::gzip_bytes(tar.substr(1024)));
  extract_archive(archive, out());
  EXPECT_EQ(testing::read_bytes(out() / "a.txt"), std::string(3000, 'q'));
  EXPECT_EQ(testing::read_bytes(out() / "b.txt"), "bee");

  std::string garbage = write("garbage.tar.gz", testing::gzip_bytes(tar) + "trailing junk");
  expect_format_error(garbage, out("o2"), {"after the end of the gzip stream"});
}

TEST_F(DataArchive, LimitsStopDecompressionBombs) {
  std::string archive =
      write("big.tar.gz", testing::gzip_bytes(testing::make_tar({{"big.bin", std::string(1 << 20, 0)}})));
  ExtractLimits limits;
  limits.max_total_bytes = 1000;
  expect_format_error(archive, out("o1"), {"big.bin", "limit of 1000 bytes"}, limits);
  EXPECT_FALSE(fs::exists(out("o1") / "big.bin"));

  std::string many = write("many.tar", testing::make_tar({{"1", ""}, {"2", ""}, {"3", ""}}));
  ExtractLimits few;
  few.max_entries = 2;
  expect_format_error(many, out("o2"), {"more than 2 entries"}, few);
}

TEST_F(DataArchive, ZipStoredDeflatedAndDataDescriptors) {
  std::string text(10000, 'z');
  for (size_t i = 0; i < text.size(); i += 7) text[i] = static_cast<char>('a' + i % 26);
  std::vector<ZipMember> members = {
      {"proj-main/", ""},
      {"proj-main/stored.txt", "plain bytes", false},
      {"proj-main/deflated.txt", text, true},
      {"proj-main/sub/streamed.json", "{\"a\": [1, 2, 3]}", true, true},
      {"proj-main/link", "stored.txt", false, false, 0120777},
  };
  std::string archive = write("a.zip", testing::make_zip(members));
  EXPECT_EQ(detect_archive_format(archive), ArchiveFormat::kZip);
  ExtractSummary summary = extract_archive(archive, out());
  EXPECT_EQ(summary.format, ArchiveFormat::kZip);
  EXPECT_EQ(summary.stripped_folder, "proj-main");
  EXPECT_EQ(testing::read_bytes(summary.content_root / "stored.txt"), "plain bytes");
  EXPECT_EQ(testing::read_bytes(summary.content_root / "deflated.txt"), text);
  EXPECT_EQ(testing::read_bytes(summary.content_root / "sub/streamed.json"), "{\"a\": [1, 2, 3]}");
  EXPECT_FALSE(fs::exists(fs::symlink_status(summary.content_root / "link")));
  EXPECT_EQ(count_files(out()), 3u);
}

TEST_F(DataArchive, ZipDamageAndTraversalAreErrors) {
  std::string traversal = write("t.zip", testing::make_zip({{"../evil.txt", "x"}}));
  expect_format_error(traversal, out("o1"), {"../evil.txt", "'..'"});
  EXPECT_FALSE(fs::exists(dir_.path() / "evil.txt"));

  std::string link = write("l.zip", testing::make_zip({{"l", "../../etc", false, false, 0120777}}));
  expect_format_error(link, out("o2"), {"outside"});

  std::string crc = write("crc.zip", testing::make_zip({{"a.txt", "hello", true, false, 0100644, true}}));
  expect_format_error(crc, out("o3"), {"CRC-32", "a.txt"});

  std::string zip = testing::make_zip({{"a.txt", std::string(4000, 'a'), true}, {"b.txt", "bbb", false}});
  std::string truncated = write("cut.zip", zip.substr(0, zip.size() - 30));
  expect_format_error(truncated, out("o4"), {"end-of-central-directory"});

  std::string garbled = zip;
  garbled[40] = static_cast<char>(~garbled[40]);  // inside a.txt's deflate data
  expect_format_error(write("garbled.zip", garbled), out("o5"), {"a.txt"});
}

}  // namespace
}  // namespace cadenza
