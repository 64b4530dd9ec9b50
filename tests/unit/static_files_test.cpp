#include <roomcast/transport/static_files.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using roomcast::transport::mime_type;
using roomcast::transport::normalize_target;
using roomcast::transport::static_files;

// ---------------------------------------------------------------------------------------------
// normalize_target

void expect_path(std::string_view target, std::string_view expected) {
    auto p = normalize_target(target);
    ASSERT_TRUE(p.has_value()) << "refused: " << testing::PrintToString(std::string(target));
    EXPECT_EQ(*p, expected) << testing::PrintToString(std::string(target));
}

void expect_refused(std::string_view target) {
    auto p = normalize_target(target);
    EXPECT_FALSE(p.has_value()) << testing::PrintToString(std::string(target)) << " gave "
                                << testing::PrintToString(p.value_or(""));
}

TEST(NormalizeTarget, PlainPaths) {
    expect_path("/index.html", "/index.html");
    expect_path("/app.js", "/app.js");
    expect_path("/a/b/c.css", "/a/b/c.css");
    expect_path("/...", "/...");  // three dots is an ordinary name
    expect_path("/a..b", "/a..b");
    expect_path("/.well-known/x", "/.well-known/x");  // dot names are for the whitelist to refuse
    expect_path("/a-b_c~d", "/a-b_c~d");
}

TEST(NormalizeTarget, DirectoriesNameTheirIndex) {
    expect_path("/", "/index.html");
    expect_path("/dir/", "/dir/index.html");
    expect_path("/a/b/", "/a/b/index.html");
    expect_path("/?x=1", "/index.html");
    expect_path("/dir/#top", "/dir/index.html");
}

TEST(NormalizeTarget, QueryAndFragmentAreStripped) {
    expect_path("/app.js?v=3", "/app.js");
    expect_path("/app.js#frag", "/app.js");
    expect_path("/app.js?v=1#frag", "/app.js");
    expect_path("/app.js#frag?v=1", "/app.js");
    expect_path("/app.js?", "/app.js");
    expect_path("/app.js#", "/app.js");
    // Whatever follows the query start is never checked or kept.
    expect_path("/app.js?../../etc/passwd", "/app.js");
    expect_path("/?%zz", "/index.html");
    expect_path("/#%00", "/index.html");
}

TEST(NormalizeTarget, PercentDecoding) {
    expect_path("/a%20b.txt", "/a b.txt");
    expect_path("/%41%62c", "/Abc");
    expect_path("/%7e", "/~");
    expect_path("/caf%C3%A9.html", "/caf\xC3\xA9.html");
    expect_path("/caf%c3%a9.html", "/caf\xC3\xA9.html");
    expect_path("/a%3Fb", "/a?b");  // an encoded '?' is part of the name
    expect_path("/a%23b", "/a#b");
    expect_path("/%2e%2e%2e", "/...");
    expect_path("/a%2Fb", "/a/b");  // an encoded '/' separates segments after decoding
    expect_path("/%25", "/%");      // decoded once only
    expect_path("/%252e%252e", "/%2e%2e");
}

TEST(NormalizeTarget, DotSegmentsRefused) {
    for (std::string_view t : {"/..",
                               "/../",
                               "/../etc/passwd",
                               "/a/../b",
                               "/a/..",
                               "/a/../",
                               "/a/b/../../c",
                               "/.",
                               "/./",
                               "/./x",
                               "/a/./b",
                               "/a/.",
                               "/%2e%2e",
                               "/%2e%2e/",
                               "/%2E%2e/",
                               "/%2e%2E/x",
                               "/%2E%2E",
                               "/.%2e/",
                               "/%2e./x",
                               "/a/%2e%2e/b",
                               "/%2e",
                               "/%2E/x",
                               "/a/%2e",
                               "/a%2F..%2Fb",
                               "/a%2f..",
                               "/%2e%2e%2fetc%2fpasswd",
                               "/..?x",
                               "/..#x"}) {
        expect_refused(t);
    }
}

TEST(NormalizeTarget, EmptySegmentsRefused) {
    for (std::string_view t :
         {"//", "//etc/passwd", "/a//b", "/a//", "///", "/%2f", "/%2F", "/a%2f%2fb", "/a/%2F/b"}) {
        expect_refused(t);
    }
}

TEST(NormalizeTarget, BackslashesRefused) {
    for (std::string_view t : {"/a\\b", "\\", "/\\..\\x", "/%5c", "/%5C", "/%5C..%5Cetc",
                               "/..%5c..%5cwin.ini", "/a%5cb"}) {
        expect_refused(t);
    }
}

TEST(NormalizeTarget, NulAndControlBytesRefused) {
    for (std::string_view t :
         {"/%00", "/a%00.html", "/index.html%00.png", "/%01", "/%0a", "/%0D%0A", "/%1f", "/%7f",
          "/%7F", "/a\tb", "/a\nb", "/a\rb", "/\x7f", "/\x01"}) {
        expect_refused(t);
    }
    expect_refused(std::string_view("/a\0b", 4));
    expect_refused(std::string_view("/\0", 2));
    // Every raw control byte, and DEL.
    for (int c = 0; c < 0x20; ++c) {
        std::string t = "/x";
        t += static_cast<char>(c);
        expect_refused(t);
    }
}

TEST(NormalizeTarget, BadEscapesRefused) {
    for (std::string_view t : {"/%", "/a%", "/%g1", "/%1g", "/%2", "/a%2", "/%%", "/%%41", "/%-1",
                               "/% 1", "/%+1", "/%x", "/%zz/index.html", "/%G0"}) {
        expect_refused(t);
    }
}

TEST(NormalizeTarget, EscapeCutOffByTheEndOfTheViewRefused) {
    // The target is a view into a larger buffer: an escape at its end must not read past it.
    std::string const buffer = "/a%4Fxyz";
    expect_refused(std::string_view(buffer).substr(0, 3));  // "/a%"
    expect_refused(std::string_view(buffer).substr(0, 4));  // "/a%4"
    expect_path(std::string_view(buffer).substr(0, 5), "/aO");
    std::string const query = "/%2?x";  // the query starts right after a half escape
    expect_refused(query);
}

TEST(NormalizeTarget, MustStartWithSlash) {
    for (std::string_view t :
         {"", "index.html", "a/b", "*", "http://x/", "http://example.com/index.html", "https://x/a",
          "//x.example/", "?x", "#x", " /", ".", "..", "../etc/passwd", "%2findex.html", "%2F"}) {
        expect_refused(t);
    }
}

// ---------------------------------------------------------------------------------------------
// mime_type

TEST(MimeType, KnownExtensions) {
    struct c {
        char const* path;
        char const* type;
    };
    for (auto const& [path, type] : std::vector<c>{
             {"/index.html", "text/html; charset=utf-8"},
             {"/x.htm", "text/html; charset=utf-8"},
             {"/INDEX.HTML", "text/html; charset=utf-8"},
             {"/a.Html", "text/html; charset=utf-8"},
             {"/s.css", "text/css; charset=utf-8"},
             {"/app.js", "text/javascript; charset=utf-8"},
             {"/mod.mjs", "text/javascript; charset=utf-8"},
             {"/d.json", "application/json"},
             {"/app.js.map", "application/json"},
             {"/site.webmanifest", "application/manifest+json"},
             {"/r.txt", "text/plain; charset=utf-8"},
             {"/i.svg", "image/svg+xml"},
             {"/i.png", "image/png"},
             {"/i.PNG", "image/png"},
             {"/i.jpg", "image/jpeg"},
             {"/i.jpeg", "image/jpeg"},
             {"/i.JPEG", "image/jpeg"},
             {"/i.gif", "image/gif"},
             {"/i.webp", "image/webp"},
             {"/favicon.ico", "image/x-icon"},
             {"/m.wasm", "application/wasm"},
             {"/f.woff2", "font/woff2"},
             {"/f.woff", "font/woff"},
             {"/dir.v2/app.js", "text/javascript; charset=utf-8"},
         }) {
        EXPECT_EQ(mime_type(path), type) << path;
    }
}

TEST(MimeType, UnknownIsOctetStream) {
    for (char const* path :
         {"/README", "/", "", "/a.exe", "/a.tar.gz", "/file.", "/dir.d/file", "/a.html5", "/a.jss",
          "/a.j", "/a.htmlx", "/a.woff3", "/a.webmanifestx"}) {
        EXPECT_EQ(mime_type(path), "application/octet-stream") << path;
    }
}

// ---------------------------------------------------------------------------------------------
// add / find

TEST(StaticFiles, AddAndFind) {
    static_files sf;
    EXPECT_EQ(sf.size(), 0u);
    EXPECT_EQ(sf.find("/"), nullptr);
    sf.add("/index.html", "<h1>hi</h1>");
    sf.add("/a b.txt", "space");
    sf.add("/dir/index.html", "dir index");
    EXPECT_EQ(sf.size(), 3u);

    auto const* f = sf.find("/");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(*f->body, "<h1>hi</h1>");
    EXPECT_EQ(f->content_type, "text/html; charset=utf-8");
    EXPECT_EQ(sf.find("/index.html"), f);
    EXPECT_EQ(sf.find("/index.html?x=1"), f);

    ASSERT_NE(sf.find("/a%20b.txt"), nullptr);
    EXPECT_EQ(*sf.find("/a%20b.txt")->body, "space");
    EXPECT_EQ(sf.find("/a%20b.txt")->content_type, "text/plain; charset=utf-8");
    ASSERT_NE(sf.find("/dir/"), nullptr);
    EXPECT_EQ(*sf.find("/dir/")->body, "dir index");

    EXPECT_EQ(sf.find("/dir"), nullptr);  // no redirect, no guess
    EXPECT_EQ(sf.find("/INDEX.HTML"), nullptr);
    EXPECT_EQ(sf.find("/missing"), nullptr);
    EXPECT_EQ(sf.find("/../index.html"), nullptr);
    EXPECT_EQ(sf.find("/dir/../index.html"), nullptr);
    EXPECT_EQ(sf.find("index.html"), nullptr);
    EXPECT_EQ(sf.find("//index.html"), nullptr);
}

TEST(StaticFiles, EtagIsStrongAndContentBased) {
    static_files sf;
    sf.add("/a.txt", "same");
    sf.add("/b.txt", "same");
    sf.add("/c.txt", "different");
    sf.add("/empty.txt", "");
    auto const& a = sf.find("/a.txt")->etag;
    EXPECT_EQ(a, sf.find("/b.txt")->etag);
    EXPECT_NE(a, sf.find("/c.txt")->etag);
    for (auto const* p : {"/a.txt", "/c.txt", "/empty.txt"}) {
        std::string const& e = sf.find(p)->etag;
        ASSERT_GE(e.size(), 3u);
        EXPECT_EQ(e.front(), '"') << e;
        EXPECT_EQ(e.back(), '"') << e;
        EXPECT_NE(e.substr(0, 2), "W/");
        EXPECT_EQ(e.find_first_not_of("0123456789abcdef", 1), e.size() - 1) << e;
    }
}

TEST(StaticFiles, AddReplacesExistingPath) {
    static_files sf;
    sf.add("/x.txt", "one");
    sf.add("/x.txt", "two");
    EXPECT_EQ(sf.size(), 1u);
    EXPECT_EQ(*sf.find("/x.txt")->body, "two");
}

// ---------------------------------------------------------------------------------------------
// load, on a directory tree built here

class StaticFilesLoad : public testing::Test {
  protected:
    void SetUp() override {
        static std::atomic<int> counter{0};
        auto const* info = testing::UnitTest::GetInstance()->current_test_info();
        base_ = fs::temp_directory_path() / ("roomcast-static-" + std::to_string(::getpid()) + "-" +
                                             info->name() + "-" + std::to_string(counter++));
        fs::remove_all(base_);
        root_ = base_ / "root";
        outside_ = base_ / "outside";
        fs::create_directories(root_);
        fs::create_directories(outside_);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(base_, ec);
    }

    static void write(fs::path const& p, std::string const& body) {
        fs::create_directories(p.parent_path());
        std::ofstream out(p, std::ios::binary);
        out << body;
        ASSERT_TRUE(out.good()) << p;
    }

    static std::set<std::string> served(static_files const& sf,
                                        std::vector<std::string> const& candidates) {
        std::set<std::string> out;
        for (auto const& c : candidates)
            if (sf.find(c)) out.insert(c);
        return out;
    }

    fs::path base_, root_, outside_;
};

TEST_F(StaticFilesLoad, LoadsNestedTreeAndSkipsDotfilesAndOutsideLinks) {
    write(root_ / "index.html", "<html>root</html>");
    write(root_ / "app.js", "console.log(1)");
    write(root_ / "css" / "style.css", "body{}");
    write(root_ / "deep" / "a" / "b" / "c.txt", "deep");
    write(root_ / "deep" / "index.html", "deep index");
    write(root_ / ".env", "SECRET=1");
    write(root_ / ".git" / "config", "[core]");
    write(root_ / "sub" / ".hidden", "hidden");
    write(root_ / "sub" / "visible.txt", "visible");
    write(root_ / "bin.dat", std::string("\0\x01\xFF\x7F", 4));
    write(outside_ / "secret.txt", "outside secret");
    write(outside_ / "dir" / "leak.txt", "outside dir");
    fs::create_symlink(root_ / "app.js", root_ / "link_in.js");      // inside, absolute
    fs::create_symlink("css/style.css", root_ / "link_rel.css");     // inside, relative
    fs::create_directory_symlink(root_ / "css", root_ / "linkdir");  // directory inside
    fs::create_symlink(outside_ / "secret.txt", root_ / "link_out.txt");
    fs::create_symlink("../outside/secret.txt", root_ / "link_out_rel.txt");
    fs::create_directory_symlink(outside_ / "dir", root_ / "linkdir_out");
    fs::create_symlink(root_ / "missing.txt", root_ / "dangling.txt");

    static_files sf;
    auto err = static_files::load(root_.string(), sf);
    ASSERT_FALSE(err.has_value()) << *err;

    std::vector<std::string> const candidates = {
        "/index.html",        "/app.js",       "/css/style.css",      "/deep/a/b/c.txt",
        "/deep/index.html",   "/.env",         "/.git/config",        "/sub/.hidden",
        "/sub/visible.txt",   "/bin.dat",      "/link_in.js",         "/link_rel.css",
        "/linkdir/style.css", "/link_out.txt", "/link_out_rel.txt",   "/linkdir_out/leak.txt",
        "/dangling.txt",      "/secret.txt",   "/outside/secret.txt", "/root/index.html"};
    std::set<std::string> const expected = {
        "/index.html",      "/app.js",  "/css/style.css", "/deep/a/b/c.txt", "/deep/index.html",
        "/sub/visible.txt", "/bin.dat", "/link_in.js",    "/link_rel.css"};
    // Directory symlinks are never followed, even inside the root (no cycles to guard).
    EXPECT_EQ(served(sf, candidates), expected);
    EXPECT_EQ(sf.size(), expected.size());

    EXPECT_EQ(*sf.find("/")->body, "<html>root</html>");
    EXPECT_EQ(*sf.find("/deep/")->body, "deep index");
    EXPECT_EQ(*sf.find("/deep/a/b/c.txt")->body, "deep");
    EXPECT_EQ(*sf.find("/bin.dat")->body, std::string("\0\x01\xFF\x7F", 4));
    EXPECT_EQ(*sf.find("/link_in.js")->body, "console.log(1)");
    EXPECT_EQ(sf.find("/link_in.js")->content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(sf.find("/linkdir/style.css"), nullptr);
    EXPECT_EQ(sf.find("/css/style.css")->content_type, "text/css; charset=utf-8");
    EXPECT_EQ(sf.find("/bin.dat")->content_type, "application/octet-stream");
}

TEST_F(StaticFilesLoad, SymlinkLoopIsSkippedNotThrown) {
    // load() reports failures as a message and "never serves" bad links; a link cycle
    // (canonical() fails with ELOOP) must be skipped like a dangling link, not throw.
    write(root_ / "index.html", "ok");
    fs::create_symlink(root_ / "loop_b", root_ / "loop_a");
    fs::create_symlink(root_ / "loop_a", root_ / "loop_b");
    static_files sf;
    std::optional<std::string> err;
    EXPECT_NO_THROW(err = static_files::load(root_.string(), sf));
    EXPECT_FALSE(err.has_value()) << *err;
    EXPECT_NE(sf.find("/"), nullptr);
    EXPECT_EQ(sf.find("/loop_a"), nullptr);
    EXPECT_EQ(sf.find("/loop_b"), nullptr);
}

TEST_F(StaticFilesLoad, DirectorySymlinkCycleIsNotFollowedForever) {
    // "loop -> ." stays inside the root, but following it recursively yields
    // /loop/loop/loop/... until the kernel's symlink limit.
    write(root_ / "index.html", "ok");
    fs::create_directory_symlink(".", root_ / "loop");
    static_files sf;
    std::optional<std::string> err;
    EXPECT_NO_THROW(err = static_files::load(root_.string(), sf));
    EXPECT_FALSE(err.has_value()) << *err;
    EXPECT_EQ(sf.find("/loop/loop/loop/index.html"), nullptr);
    EXPECT_LE(sf.size(), 2u);
}

TEST_F(StaticFilesLoad, LoadedFilesDoNotChangeWithTheDisk) {
    write(root_ / "index.html", "v1");
    static_files sf;
    ASSERT_FALSE(static_files::load(root_.string(), sf).has_value());
    write(root_ / "index.html", "v2");
    write(root_ / "new.txt", "new");
    EXPECT_EQ(*sf.find("/")->body, "v1");
    EXPECT_EQ(sf.find("/new.txt"), nullptr);
}

TEST_F(StaticFilesLoad, MissingIndexIsAnError) {
    write(root_ / "app.js", "x");
    write(root_ / "sub" / "index.html", "not the root index");
    static_files sf;
    auto err = static_files::load(root_.string(), sf);
    ASSERT_TRUE(err.has_value());
    EXPECT_NE(err->find("index.html"), std::string::npos) << *err;
}

TEST_F(StaticFilesLoad, IndexAsDotfileOrOutsideLinkDoesNotCount) {
    write(outside_ / "index.html", "outside index");
    fs::create_symlink(outside_ / "index.html", root_ / "index.html");
    static_files sf;
    auto err = static_files::load(root_.string(), sf);
    ASSERT_TRUE(err.has_value()) << "an index.html symlinked from outside the root was served";
    EXPECT_EQ(sf.find("/"), nullptr);
}

TEST_F(StaticFilesLoad, EmptyRootIsAnError) {
    static_files sf;
    EXPECT_TRUE(static_files::load(root_.string(), sf).has_value());
}

TEST_F(StaticFilesLoad, MissingRootIsAnError) {
    static_files sf;
    auto err = static_files::load((base_ / "nope").string(), sf);
    ASSERT_TRUE(err.has_value());
    EXPECT_NE(err->find("nope"), std::string::npos) << *err;
    EXPECT_EQ(sf.size(), 0u);
}

TEST_F(StaticFilesLoad, RootThatIsAFileIsAnError) {
    write(base_ / "file.txt", "not a dir");
    static_files sf;
    auto err = static_files::load((base_ / "file.txt").string(), sf);
    ASSERT_TRUE(err.has_value());
    EXPECT_NE(err->find("not a directory"), std::string::npos) << *err;
}

TEST_F(StaticFilesLoad, RootThroughASymlinkAndDotComponentsWorks) {
    write(root_ / "index.html", "hello");
    write(root_ / "a" / "b.txt", "b");
    fs::create_directory_symlink(root_, base_ / "alias");
    for (fs::path const& r : {base_ / "alias", root_ / ".", base_ / "outside" / ".." / "root"}) {
        static_files sf;
        auto err = static_files::load(r.string() + "/", sf);
        ASSERT_FALSE(err.has_value()) << r << ": " << *err;
        EXPECT_EQ(sf.size(), 2u) << r;
        ASSERT_NE(sf.find("/a/b.txt"), nullptr) << r;
        EXPECT_EQ(*sf.find("/a/b.txt")->body, "b");
    }
}

TEST_F(StaticFilesLoad, RealWebRootLoads) {
    static_files sf;
    auto err = static_files::load(ROOMCAST_SOURCE_WEB_ROOT, sf);
    ASSERT_FALSE(err.has_value()) << *err;
    ASSERT_NE(sf.find("/"), nullptr);
    EXPECT_EQ(sf.find("/")->content_type, "text/html; charset=utf-8");
}

}  // namespace
