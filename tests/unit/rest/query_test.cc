// The /rest/v1 query-string parser and SQL builder: PostgREST's grammar (supabase-compat.md 3.3),
// bounds on hostile input, and that every value reaches SQL as a bound parameter.
#include "rest/query.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rest/sql.h"

namespace substrate::rest {
namespace {

const query_limits limits{};

query parse(std::string_view raw, bool rpc = false) {
  auto q = parse_query(raw, rpc, limits);
  EXPECT_TRUE(q.has_value()) << raw << ": " << (q ? "" : q.error().message + " " + q.error().details);
  return q ? *q : query{};
}

std::string error_code(std::string_view raw) {
  auto q = parse_query(raw, false, limits);
  return q ? "" : q.error().code;
}

table_info todos() {
  table_info t;
  t.schema = "public";
  t.name = "todos";
  t.columns = {{"id", "bigint"}, {"title", "text"}, {"done", "boolean"}, {"meta", "jsonb"}};
  t.primary_key = {"id"};
  return t;
}

TEST(RestQuery, DecodesFormStyle) {
  auto form = decode_form("a=b+c&x=%2C%28%29&empty=&flag");
  ASSERT_TRUE(form);
  ASSERT_EQ(form->size(), 4u);
  EXPECT_EQ((*form)[0].second, "b c");
  EXPECT_EQ((*form)[1].second, ",()");
  EXPECT_EQ((*form)[2].second, "");
  EXPECT_EQ((*form)[3].first, "flag");
  EXPECT_FALSE(decode_form("a=%zz"));
  EXPECT_FALSE(decode_form("a=%4"));
}

TEST(RestQuery, ParsesTheCapturedRequests) {
  auto q = parse("select=*&user_id=eq.u1&order=created_at.desc&limit=1");
  EXPECT_TRUE(q.select_all());
  ASSERT_EQ(q.where.size(), 1u);
  EXPECT_EQ(q.where[0].leaf.column, "user_id");
  EXPECT_EQ(q.where[0].leaf.value, "u1");
  ASSERT_EQ(q.order.size(), 1u);
  EXPECT_TRUE(q.order[0].descending);
  EXPECT_EQ(q.limit, 1);

  q = parse("select=id,title&id=in.(1,2,%22a,b%22)&deleted_at=is.null&email=eq.a.b@example.com&tag=eq.x,y");
  ASSERT_EQ(q.select.size(), 2u);
  EXPECT_EQ(q.where[0].leaf.op, filter_op::in);
  EXPECT_EQ(q.where[0].leaf.list, (std::vector<std::string>{"1", "2", "a,b"}));
  EXPECT_EQ(q.where[1].leaf.op, filter_op::is);
  EXPECT_EQ(q.where[2].leaf.value, "a.b@example.com");
  EXPECT_EQ(q.where[3].leaf.value, "x,y");

  q = parse("title=not.is.null&title=like.*x*&order=created_at.asc.nullslast,id.asc&offset=10&limit=10");
  EXPECT_TRUE(q.where[0].leaf.negate);
  EXPECT_EQ(q.where[1].leaf.value, "%x%");
  ASSERT_EQ(q.order.size(), 2u);
  EXPECT_EQ(q.order[0].nulls_first, false);
  EXPECT_EQ(q.offset, 10);

  q = parse("or=(done.eq.true,title.like.*x*,and(id.gt.1,not.or(id.eq.5,title.eq.%22a,b%22)))");
  ASSERT_EQ(q.where.size(), 1u);
  EXPECT_EQ(q.where[0].type, condition::kind::any);
  ASSERT_EQ(q.where[0].children.size(), 3u);
  const auto& inner = q.where[0].children[2];
  EXPECT_EQ(inner.type, condition::kind::all);
  EXPECT_TRUE(inner.children[1].negate);
  EXPECT_EQ(inner.children[1].children[1].leaf.value, "a,b");

  q = parse("columns=%22title%22,%22done%22&on_conflict=id&select=*");
  EXPECT_EQ(*q.columns, (std::vector<std::string>{"title", "done"}));
  EXPECT_EQ(q.on_conflict, (std::vector<std::string>{"id"}));

  q = parse("select=name:title,meta-%3Ea-%3E%3Eb");
  EXPECT_EQ(q.select[0].alias, "name");
  EXPECT_EQ(q.select[1].path.size(), 2u);
  EXPECT_TRUE(q.select[1].path[1].as_text);

  q = parse("a=1&b=%7B1,2%7D", true);
  EXPECT_EQ(q.arguments.size(), 2u);
  EXPECT_EQ(q.arguments[1].second, "{1,2}");
}

TEST(RestQuery, RefusesMalformedAndHostileInput) {
  for (const char* raw :
       {"id=drop.1", "id=eq", "id=in.(1,2", "id=in.1,2", "id=is.maybe", "order=", "limit=-1", "limit=1;drop",
        "offset=x", "select=title::text", "select=other(*)", "or=(id.eq.1", "or=id.eq.1", "or=(id)",
        "select=%22unterminated", "a.order=id", "select=,", "id=in.(%22a)"}) {
    EXPECT_EQ(error_code(raw), "PGRST100") << raw;
  }
  std::string huge = "id=in.(";
  for (int i = 0; i < 2000; ++i) huge += std::to_string(i) + ",";
  huge += "0)";
  EXPECT_EQ(error_code(huge), "PGRST100");
  std::string deep = "id.eq.1";
  for (int i = 0; i < 20; ++i) deep = "or(" + deep + ")";
  EXPECT_EQ(error_code("or=(" + deep + ")"), "PGRST100");
}

TEST(RestSql, ValuesAreBoundNeverSpliced) {
  const auto table = todos();
  const std::string evil = "x'); drop table todos; --";
  auto q = parse("select=id,title&title=eq.x%27);%20drop%20table%20todos;%20--&id=in.(1,%22a%5C%22b%22)&order=id.desc");
  auto stmt = build_read(table, q, true);
  ASSERT_TRUE(stmt);
  EXPECT_EQ(stmt->sql.find("drop"), std::string::npos) << stmt->sql;
  bool bound = false;
  for (const auto& p : stmt->params) bound = bound || (p && *p == evil);
  EXPECT_TRUE(bound);
  EXPECT_NE(stmt->sql.find("\"public\".\"todos\".\"title\" = $"), std::string::npos) << stmt->sql;
  EXPECT_NE(stmt->sql.find("= any($"), std::string::npos);
  bool list = false;
  for (const auto& p : stmt->params) list = list || (p && *p == R"({"1","a\"b"})");
  EXPECT_TRUE(list);
  EXPECT_NE(stmt->sql.find("order by \"public\".\"todos\".\"id\" desc"), std::string::npos);
}

TEST(RestSql, NamesMustBeInTheSchemaCache) {
  const auto table = todos();
  auto stmt = build_read(table, parse("nope=eq.1"), false);
  ASSERT_FALSE(stmt);
  EXPECT_EQ(stmt.error().code, "42703");
  stmt = build_read(table, parse("select=nope"), false);
  ASSERT_FALSE(stmt);
  EXPECT_EQ(stmt.error().code, "42703");
  stmt = build_read(table, parse("order=nope"), false);
  ASSERT_FALSE(stmt);
  auto insert =
      build_insert(table, parse(""), nlohmann::json{{"title\"; drop table x; --", 1}}, false, resolution::none);
  ASSERT_FALSE(insert);
  EXPECT_EQ(insert.error().code, "PGRST204");
  auto update = build_update(table, parse("id=eq.1"), nlohmann::json{{"nope", 1}}, false);
  ASSERT_FALSE(update);
  EXPECT_EQ(update.error().code, "PGRST204");
}

TEST(RestSql, WritesBindTheBody) {
  const auto table = todos();
  auto body = nlohmann::json::array({{{"title", "a'b"}}, {{"title", "c"}, {"done", true}}});
  auto stmt = build_insert(table, parse(""), body, true, resolution::merge_duplicates);
  ASSERT_TRUE(stmt);
  EXPECT_NE(stmt->sql.find("json_populate_recordset"), std::string::npos);
  EXPECT_NE(stmt->sql.find("on conflict (\"id\") do update set \"title\" = excluded.\"title\""), std::string::npos)
      << stmt->sql;
  EXPECT_EQ(stmt->sql.find("a'b"), std::string::npos);
  ASSERT_EQ(stmt->params.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(*stmt->params[0]), body);

  auto update = build_update(table, parse("id=eq.7"), nlohmann::json{{"title", "z"}}, false);
  ASSERT_TRUE(update);
  EXPECT_EQ(update->params.size(), 2u);
  auto del = build_delete(table, parse("id=eq.7"), true);
  ASSERT_TRUE(del);
  EXPECT_NE(del->sql.find("returning"), std::string::npos);
}

TEST(RestSql, RpcPicksTheOverloadByArgumentNames) {
  function_info add{"public", "add", {{"a", "integer"}, {"b", "integer"}}, 0, false, false, true};
  function_info add3{"public", "add", {{"a", "integer"}, {"b", "integer"}, {"c", "integer"}}, 1, false, false, true};
  std::vector<function_info> both{add, add3};
  auto picked = pick_function(both, nlohmann::json{{"a", 1}, {"b", 2}});
  ASSERT_TRUE(picked);
  EXPECT_EQ((*picked)->args.size(), 2u);
  picked = pick_function(both, nlohmann::json{{"a", 1}, {"b", 2}, {"c", 3}});
  ASSERT_TRUE(picked);
  EXPECT_EQ((*picked)->args.size(), 3u);
  picked = pick_function(both, nlohmann::json{{"a", 1}, {"d", 2}});
  ASSERT_FALSE(picked);
  EXPECT_EQ(picked.error().code, "PGRST202");
  EXPECT_EQ(picked.error().status, 404);
  auto stmt = build_rpc(add, nlohmann::json{{"a", 1}, {"b", "2); drop table x; --"}});
  ASSERT_TRUE(stmt);
  EXPECT_EQ(stmt->sql.find("drop"), std::string::npos);
  EXPECT_NE(stmt->sql.find("\"a\" => pgrst_args.\"a\""), std::string::npos) << stmt->sql;
}

}  // namespace
}  // namespace substrate::rest
