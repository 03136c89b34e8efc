#include "network/hosts.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "network/network.h"

namespace berth::network {
namespace {

TEST(Hosts, ServicesAndReplicasSorted) {
  std::string h = HostsFileContent({{"10.89.0.3", "web", 2}, {"10.89.0.4", "db", 1}, {"10.89.0.2", "web", 1},
                                    {"", "api", 1}});
  EXPECT_NE(h.find("127.0.0.1\tlocalhost\n"), std::string::npos);
  size_t db = h.find("10.89.0.4\tdb db-1\n"), w1 = h.find("10.89.0.2\tweb web-1\n"),
         w2 = h.find("10.89.0.3\tweb web-2\n");
  ASSERT_NE(db, std::string::npos);
  ASSERT_NE(w1, std::string::npos);
  ASSERT_NE(w2, std::string::npos);
  EXPECT_LT(db, w1);
  EXPECT_LT(w1, w2);
  EXPECT_EQ(h.find("api"), std::string::npos);  // no address yet: no line
}

TEST(Hosts, IngressAliasesAtTheGateway) {
  std::string h = HostsFileContent({{"10.89.0.2", "api", 1}},
                                   {{"10.89.0.1", "web.team.localhost"}, {"10.89.0.1", "api.team.localhost"}});
  EXPECT_NE(h.find("10.89.0.2\tapi api-1\n"), std::string::npos);
  size_t a = h.find("10.89.0.1\tapi.team.localhost\n"), w = h.find("10.89.0.1\tweb.team.localhost\n");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(w, std::string::npos);
  EXPECT_LT(a, w);
}

TEST(ResolvConf, DropsLoopbackServers) {
  std::string r = ResolvConfContent("nameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch example.org\noptions edns0\n");
  EXPECT_EQ(r.find("127.0.0.53"), std::string::npos);
  EXPECT_NE(r.find("nameserver 10.0.0.2\n"), std::string::npos);
  EXPECT_NE(r.find("search example.org\n"), std::string::npos);
  EXPECT_NE(r.find("options edns0\n"), std::string::npos);
  EXPECT_NE(ResolvConfContent("nameserver 127.0.0.1\n").find("no name server"), std::string::npos);
}

TEST(WriteInPlace, KeepsTheInode) {
  char tmpl[] = "/tmp/berth-hosts-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string p = std::string(tmpl) + "/hosts";
  ASSERT_TRUE(WriteInPlace(p, "a long first version\n").ok());
  struct stat a, b;
  ASSERT_EQ(stat(p.c_str(), &a), 0);
  ASSERT_TRUE(WriteInPlace(p, "short\n").ok());
  ASSERT_EQ(stat(p.c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(*ReadFile(p), "short\n");
  ASSERT_TRUE(RemoveAll(tmpl).ok());
}

TEST(Firewall, IsolationBeforeAcceptsAndOneChainSetPerInstance) {
  Firewall fw("1a2b", "127.0.0.1", 8080);
  std::map<std::string, FirewallEnv> envs = {{"alice", {"bt1a2b00000001", *Cidr::Parse("10.89.0.0/24")}},
                                             {"bob", {"bt1a2b00000002", *Cidr::Parse("10.89.1.0/24")}}};
  std::string r = fw.Generate(envs);
  EXPECT_EQ(fw.Chain("INPUT"), "BERTH-1a2b-INPUT");
  EXPECT_NE(r.find(":BERTH-1a2b-FORWARD - [0:0]\n"), std::string::npos);  // declared: rewritten whole
  size_t drop_bob = r.find("-A BERTH-1a2b-FORWARD -o bt1a2b00000002 ! -i bt1a2b00000002 -j DROP");
  size_t accept_alice = r.find("-A BERTH-1a2b-FORWARD -i bt1a2b00000001 -j ACCEPT");
  ASSERT_NE(drop_bob, std::string::npos);
  ASSERT_NE(accept_alice, std::string::npos);
  EXPECT_LT(drop_bob, accept_alice);  // alice's accept must not let her reach bob
  EXPECT_NE(r.find("-A BERTH-1a2b-INPUT -i bt1a2b00000001 -p tcp --dport 8080 -j ACCEPT"), std::string::npos);
  EXPECT_NE(r.find("-A BERTH-1a2b-INPUT -i bt1a2b00000001 -j REJECT"), std::string::npos);
  EXPECT_NE(r.find("-A BERTH-1a2b-POSTROUTING -s 10.89.1.0/24 ! -d 10.89.1.0/24 -j MASQUERADE"),
            std::string::npos);
  // The ingress on loopback: the gateway's port is DNATed to it, other loopback dropped.
  EXPECT_NE(r.find("-A BERTH-1a2b-PREROUTING -i bt1a2b00000002 -d 10.89.1.1/32 -p tcp --dport 8080 "
                   "-j DNAT --to-destination 127.0.0.1:8080"),
            std::string::npos);
  size_t guard = r.find("-A BERTH-1a2b-INPUT -i bt1a2b00000001 -d 127.0.0.0/8 -m conntrack ! --ctstate DNAT -j DROP");
  ASSERT_NE(guard, std::string::npos);
  EXPECT_LT(guard, r.find("-A BERTH-1a2b-INPUT -i bt1a2b00000001 -p tcp --dport 8080 -j ACCEPT"));
  std::string empty = fw.Generate({});
  EXPECT_EQ(empty.find("-A "), std::string::npos);  // no environments: empty chains
}

TEST(Firewall, IngressOnAllAddressesNeedsNoDnat) {
  Firewall fw("1a2b", "0.0.0.0", 8080);
  EXPECT_FALSE(fw.DnatIngress());
  std::string r = fw.Generate({{"alice", {"bt1a2b00000001", *Cidr::Parse("10.89.0.0/24")}}});
  EXPECT_EQ(r.find("DNAT"), std::string::npos);
  EXPECT_NE(r.find("-A BERTH-1a2b-INPUT -i bt1a2b00000001 -p tcp --dport 8080 -j ACCEPT"), std::string::npos);
}

TEST(NetworkNames, BridgeFitsAndDiffers) {
  Network a({.run_dir = "/run/x", .instance = "1a2b"});
  Network b({.run_dir = "/run/y", .instance = "3c4d"});
  std::string long_env(32, 'e');
  EXPECT_EQ(a.BridgeName(long_env).size(), 14u);  // interface names: at most 15
  EXPECT_NE(a.BridgeName("alice"), a.BridgeName("bob"));
  EXPECT_NE(a.BridgeName("alice"), b.BridgeName("alice"));
  EXPECT_EQ(a.BridgeName("alice").rfind("bt1a2b", 0), 0u);
  EXPECT_EQ(a.NetnsPath("alice.db.1"), "/run/x/netns/alice.db.1");
}

}  // namespace
}  // namespace berth::network
