#include "spec/yaml_tree.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace berth::spec {

const YamlEntry* YamlNode::FindEntry(std::string_view key) const {
  if (kind != Kind::kMap) return nullptr;
  for (const YamlEntry& e : entries)
    if (e.key == key) return &e;
  return nullptr;
}

const YamlNode* YamlNode::Find(std::string_view key) const {
  const YamlEntry* e = FindEntry(key);
  return e ? &e->value : nullptr;
}

YamlNode* YamlNode::Find(std::string_view key) {
  return const_cast<YamlNode*>(static_cast<const YamlNode*>(this)->Find(key));
}

std::string_view KindName(YamlNode::Kind kind) {
  switch (kind) {
    case YamlNode::Kind::kNull:
      return "null";
    case YamlNode::Kind::kScalar:
      return "a string";
    case YamlNode::Kind::kSequence:
      return "a list";
    case YamlNode::Kind::kMap:
      return "a map";
  }
  return "?";
}

namespace {

Pos MarkPos(const YAML::Mark& m) {
  if (m.line < 0 || m.column < 0) return {};
  return {m.line + 1, m.column + 1};
}

// Thrown by the builder to stop yaml-cpp's parser once a limit is exceeded (after one
// error is reported): a document that big or deep is not a spec, and going on would
// only spend what the limits protect.
struct Abort {};

// More documents than this and the input is not a spec (yaml-cpp can also report
// empty documents forever on some malformed input, which this cap ends).
constexpr int kMaxDocuments = 16;

// Builds YamlNode trees from yaml-cpp's parser events. Working from events rather than
// yaml-cpp's Node graph means each alias is expanded by copying under the node and
// byte budgets, a recursive alias is an error instead of a cyclic graph, and yaml-cpp's
// own document loop is bounded.
class TreeBuilder final : public YAML::EventHandler {
 public:
  TreeBuilder(std::string_view source, Diagnostics& diags, const YamlLimits& limits)
      : source_(source), diags_(diags), limits_(limits) {}

  int content_documents() const { return content_documents_; }
  Pos second_document_pos() const { return second_document_pos_; }
  std::optional<YamlNode>& first_document() { return first_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    // yaml-cpp 0.7 does not consume some stray tokens (a "," outside a flow collection)
    // and reports an empty document before them forever: no progress is an error.
    if (started_ && mark.pos == last_start_) {
      size_t at = static_cast<size_t>(std::max(mark.pos, 0));
      diags_.Error(MarkPos(mark), "",
                   "invalid YAML: unexpected " + Quoted(source_.substr(at, at < source_.size() ? 1 : 0)));
      throw Abort{};
    }
    started_ = true;
    last_start_ = mark.pos;
    anchors_.clear();
    stack_.clear();
    root_.reset();
  }

  void OnDocumentEnd() override {
    // A trailing `---` yields an empty document; only documents with content count.
    if (!root_ || root_->is_null()) return;
    if (++content_documents_ == 1) {
      first_ = std::move(root_);
    } else if (content_documents_ == 2) {
      second_document_pos_ = root_->pos;
    }
  }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    YamlNode n;
    n.pos = MarkPos(mark);
    Spend(n.pos, 1, 0);
    Complete(std::move(n), anchor);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    YamlNode n;
    n.kind = YamlNode::Kind::kScalar;
    n.pos = MarkPos(mark);
    n.scalar = value;
    // yaml-cpp tags plain scalars "?" and quoted ones "!"; only a plain `<<` merges.
    n.plain = tag == "?";
    Spend(n.pos, 1, value.size());
    if (std::string why = TextProblem(value); !why.empty()) {
      if (ExpectingKey()) {
        diags_.Error(n.pos, ChildPath(), "key " + Quoted(value) + " " + why);
      } else {
        diags_.Error(n.pos, ChildPath(), "value " + why);
      }
      n.invalid = true;
    }
    Complete(std::move(n), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Pos pos = MarkPos(mark);
    auto it = anchors_.find(anchor);
    if (it == anchors_.end() || it->second.open) {
      diags_.Error(pos, ChildPath(), "an alias may not refer to a node that contains it");
      throw Abort{};
    }
    Spend(pos, it->second.nodes, it->second.bytes);
    YamlNode copy = it->second.node;
    copy.pos = pos;
    Complete(std::move(copy), YAML::NullAnchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(YamlNode::Kind::kSequence, mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(YamlNode::Kind::kMap, mark, anchor);
  }
  void OnMapEnd() override {
    ApplyMerge(stack_.back());
    Close();
  }

 private:
  struct Frame {
    YamlNode node;
    YAML::anchor_t anchor = YAML::NullAnchor;
    std::string path;
    // Maps: the key read, waiting for its value; keys seen; the `<<` value.
    std::optional<YamlNode> key;
    std::unordered_set<std::string> seen;
    std::optional<YamlNode> merge;
    Pos merge_pos;
  };
  struct Anchored {
    bool open = true;
    YamlNode node;
    size_t nodes = 0;
    size_t bytes = 0;
  };

  bool ExpectingKey() const { return !stack_.empty() && stack_.back().node.is_map() && !stack_.back().key; }

  // The key path of the node about to be completed.
  std::string ChildPath() const {
    if (stack_.empty()) return "";
    const Frame& f = stack_.back();
    if (f.node.is_sequence()) return IndexPath(f.path, f.node.items.size());
    if (!f.key) return f.path;
    return spec::ChildPath(f.path, f.key->is_scalar() ? f.key->scalar : "?");
  }

  void Spend(Pos pos, size_t nodes, size_t bytes) {
    nodes_ += nodes;
    bytes_ += bytes;
    if (nodes_ > limits_.max_nodes) {
      diags_.Error(pos, ChildPath(),
                   "the document has more than " + std::to_string(limits_.max_nodes) +
                       " nodes once aliases are expanded (an alias bomb?)");
      throw Abort{};
    }
    if (bytes_ > limits_.max_expanded_bytes) {
      diags_.Error(pos, ChildPath(),
                   "the document expands to more than " + std::to_string(limits_.max_expanded_bytes >> 20) +
                       " MiB of text through aliases");
      throw Abort{};
    }
  }

  void Open(YamlNode::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    Frame f;
    f.node.kind = kind;
    f.node.pos = MarkPos(mark);
    f.anchor = anchor;
    f.path = ChildPath();
    if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
      diags_.Error(f.node.pos, f.path,
                   "nesting is deeper than " + std::to_string(limits_.max_depth) + " levels");
      throw Abort{};
    }
    Spend(f.node.pos, 1, 0);
    if (anchor != YAML::NullAnchor) anchors_[anchor] = Anchored{};
    stack_.push_back(std::move(f));
  }

  void Close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    Complete(std::move(f.node), f.anchor);
  }

  static void Measure(const YamlNode& n, size_t* nodes, size_t* bytes) {
    ++*nodes;
    *bytes += n.scalar.size();
    for (const YamlNode& item : n.items) Measure(item, nodes, bytes);
    for (const YamlEntry& e : n.entries) {
      ++*nodes;
      *bytes += e.key.size();
      Measure(e.value, nodes, bytes);
    }
  }

  // A node is complete: remember it under its anchor, then add it to its parent.
  void Complete(YamlNode n, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) {
      Anchored& a = anchors_[anchor];
      a.open = false;
      Measure(n, &a.nodes, &a.bytes);
      // The copy kept for aliases costs like the document itself.
      Spend(n.pos, a.nodes, a.bytes);
      a.node = n;
    }
    if (stack_.empty()) {
      root_ = std::move(n);
      return;
    }
    Frame& f = stack_.back();
    if (f.node.is_sequence()) {
      f.node.items.push_back(std::move(n));
      return;
    }
    if (!f.key) {
      f.key = std::move(n);
      return;
    }
    YamlNode key = std::move(*f.key);
    f.key.reset();
    AddEntry(f, std::move(key), std::move(n));
  }

  void AddEntry(Frame& f, YamlNode key, YamlNode value) {
    if (key.is_scalar() && key.plain && key.scalar == "<<") {
      if (f.merge) {
        diags_.Error(key.pos, f.path, "duplicate merge key \"<<\" (list the maps instead: <<: [*a, *b])");
        return;
      }
      f.merge = std::move(value);
      f.merge_pos = key.pos;
      return;
    }
    if (!key.is_scalar()) {
      diags_.Error(key.pos, f.path, "map keys must be strings");
      return;
    }
    if (key.invalid) return;
    if (!f.seen.insert(key.scalar).second) {
      diags_.Error(key.pos, spec::ChildPath(f.path, key.scalar), "duplicate key " + Quoted(key.scalar));
      return;
    }
    f.node.entries.push_back({std::move(key.scalar), key.pos, std::move(value)});
  }

  // YAML merge key: `<<: *base` or `<<: [*a, *b]`. Keys written in the map win over
  // merged ones, and among merged maps the earlier one wins (YAML 1.1 merge spec).
  void ApplyMerge(Frame& f) {
    if (!f.merge) return;
    std::string path = spec::ChildPath(f.path, "<<");
    std::vector<YamlNode*> maps;
    YamlNode& merged = *f.merge;
    if (merged.is_map()) {
      maps.push_back(&merged);
    } else if (merged.is_sequence()) {
      for (YamlNode& item : merged.items) {
        if (!item.is_map()) {
          diags_.Error(item.pos, path,
                       "merge key values must be maps, got " + std::string(KindName(item.kind)));
          return;
        }
        maps.push_back(&item);
      }
    } else {
      diags_.Error(
          f.merge_pos, path,
          "the merge key \"<<\" takes a map or a list of maps, got " + std::string(KindName(merged.kind)));
      return;
    }
    for (YamlNode* map : maps) {
      for (YamlEntry& e : map->entries) {
        if (f.seen.insert(e.key).second) f.node.entries.push_back(std::move(e));
      }
    }
  }

  std::string_view source_;
  Diagnostics& diags_;
  const YamlLimits& limits_;
  bool started_ = false;
  int last_start_ = 0;
  size_t nodes_ = 0;
  size_t bytes_ = 0;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, Anchored> anchors_;
  std::optional<YamlNode> root_;
  std::optional<YamlNode> first_;
  int content_documents_ = 0;
  Pos second_document_pos_;
};

}  // namespace

std::optional<YamlNode> ParseYamlDocument(std::string_view source, Diagnostics& diags,
                                          const YamlLimits& limits) {
  if (source.size() > limits.max_bytes) {
    diags.Error({}, "",
                "the spec is " + std::to_string(source.size()) + " bytes; the limit is " +
                    std::to_string(limits.max_bytes) + " bytes (1 MiB)");
    return std::nullopt;
  }
  TreeBuilder builder(source, diags, limits);
  try {
    std::istringstream in{std::string(source)};
    YAML::Parser parser(in);
    int documents = 0;
    while (builder.content_documents() < 2 && parser.HandleNextDocument(builder)) {
      if (++documents > kMaxDocuments) {
        diags.Error({}, "", "the file holds more than " + std::to_string(kMaxDocuments) + " YAML documents");
        return std::nullopt;
      }
    }
  } catch (const Abort&) {
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    diags.Error(MarkPos(e.mark), "", "invalid YAML: " + e.msg);
    return std::nullopt;
  } catch (const std::exception& e) {
    diags.Error({}, "", std::string("invalid YAML: ") + e.what());
    return std::nullopt;
  }
  if (builder.content_documents() > 1) {
    diags.Error(builder.second_document_pos(), "",
                "the file holds several YAML documents; a spec is a single document");
    return std::nullopt;
  }
  if (!builder.first_document()) {
    diags.Error({}, "", "empty spec (expected a map with at least \"services\")");
    return std::nullopt;
  }
  return std::move(builder.first_document());
}

}  // namespace berth::spec
