"""Accounts in real Chromium: an admin adds a unit and a person, who logs in and must choose a password."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser
UNIT = "六安市文化和旅游局"


def test_an_admin_adds_a_unit_and_an_operator_who_sets_their_own_password(visit) -> None:  # noqa: ANN001
    admin = visit("admin")
    admin.goto("/admin/organisations")
    form = admin.page.locator("#create-organisation")
    form.locator("input[name=name]").fill(UNIT)
    form.locator("input[name=short_name]").fill("市文旅局")
    form.locator("input[name=code]").fill("11341500MB1A009908")
    with admin.page.expect_navigation():
        form.get_by_role("button", name="添加").click()
    assert "市文旅局" in admin.page.locator("#organisations").inner_text()

    admin.goto("/admin/users")
    form = admin.page.locator("#create-user")
    form.locator("#username").fill("wlj_li")
    form.locator("#display_name").fill("李四(市文旅局)")
    form.locator("#organisation_id").select_option(label="市文旅局（项目建设单位）")
    form.get_by_label("建设单位经办人").check()
    form.get_by_role("button", name="创建用户").click()  # no password yet: the browser asks for one
    assert admin.page.url.endswith("/admin/users")
    form.get_by_role("button", name="随机生成").click()
    password = form.locator("#password").input_value()
    assert len(password) == 12
    form.locator("#password").fill("short")  # the server's rule, in Chinese, beside the form
    form.locator("#password").evaluate("el => el.removeAttribute('minlength')")
    form.get_by_role("button", name="创建用户").click()
    error = form.locator(".api-error")
    error.wait_for()
    assert "密码至少 8 位" in error.inner_text()
    admin.shot("新建用户-密码太短")
    form.locator("#password").fill(password)
    with admin.page.expect_navigation():
        form.get_by_role("button", name="创建用户").click()
    assert "用户已创建" in admin.page.locator(".alert-success").inner_text()
    admin.shot("用户已创建")

    admin.goto("/admin/users?q=wlj")
    row = admin.page.locator("#users tr[data-username=wlj_li]")
    assert "待改初始密码" in row.inner_text() and "从未登录" in row.inner_text()
    assert "建设单位经办人" in row.inner_text() and "市文旅局" in row.inner_text()

    person = visit()
    person.login("wlj_li", password)
    assert person.page.url.endswith("/account/password")
    assert "请先修改为只有您知道的密码" in person.page.locator(".alert-info").inner_text()
    person.goto("/instances", shot=False)  # every other page sends them back
    assert person.page.url.endswith("/account/password")
    person.page.fill("#old_password", password)
    person.page.fill("#new_password", "Wenlv2026new")
    person.page.fill("#new_password_confirm", "Wenlv2026new")
    with person.page.expect_navigation():
        person.page.get_by_role("button", name="修改密码").click()
    assert "密码已修改" in person.page.locator(".alert-success").inner_text()
    person.shot("密码已修改")
    person.goto("/")
    assert person.page.locator(".page-title").first.inner_text() == "我的待办"

    admin.goto("/admin/users?q=wlj")
    assert "启用" in admin.page.locator("#users tr[data-username=wlj_li]").inner_text()
    admin.page.locator("#users tr[data-username=wlj_li]").get_by_role("link", name="编辑").click()
    admin.page.wait_for_load_state("load")
    edit = admin.page.locator("#edit-user")
    edit.get_by_label("启用（停用后不能登录").uncheck()
    with admin.page.expect_navigation():
        edit.get_by_role("button", name="保存").click()
    assert "已保存" in admin.page.locator(".alert-success").inner_text()
    person.goto("/", shot=False)
    assert "/login" in person.page.url  # a deactivated account's session ends at once


def test_an_admin_suspends_an_expert_and_declares_a_conflict(visit, live_server) -> None:  # noqa: ANN001
    admin = visit("admin")
    admin.goto("/admin/experts?specialty=CRYPTO")
    row = admin.page.locator("#experts tr[data-username=expert02]")
    assert "商用密码" in row.inner_text() and "可抽取" in row.inner_text()
    row.get_by_role("link", name="编辑").click()
    admin.page.wait_for_load_state("load")
    form = admin.page.locator("#edit-expert")
    form.locator("#status").select_option(label="暂停抽取")
    form.get_by_role("button", name="添加回避单位").click()
    tie = form.locator("#ties [data-row]").last
    tie.locator("[data-key=code]").fill("BAD")
    tie.locator("[data-key=reason]").fill("曾任顾问")
    form.get_by_role("button", name="保存").click()
    form.locator(".api-error").wait_for()
    assert "第 1 行：统一社会信用代码不正确" in form.locator(".api-error").inner_text()
    code = "11341500MB1A00001Y"  # 市数管局, offered in the list
    tie.locator("[data-key=code]").fill(code)
    tie.locator("[data-key=until]").fill("2027-12-31")
    form.get_by_role("button", name="添加回避单位").click()  # a row left blank is not sent
    with admin.page.expect_navigation():
        form.get_by_role("button", name="保存").click()
    assert "已保存" in admin.page.locator(".alert-success").inner_text()
    admin.shot("专家-已保存")
    assert admin.page.locator("#ties [data-row]").count() == 1
    assert "市数管局" in admin.page.locator("#ties").inner_text()
    # A later save that fails shows its error without the earlier 已保存 beside it.
    form.locator("#ties [data-row] [data-key=code]").fill("BAD")
    form.get_by_role("button", name="保存").click()
    form.locator(".api-error").wait_for()
    assert not admin.page.locator(".alert-success").is_visible()
    admin.goto("/admin/experts?status=SUSPENDED")
    assert admin.page.locator("#experts tbody tr").all_inner_texts()[0].startswith("李晓燕")


def test_a_generated_password_is_shown_once_and_the_forms_speak_chinese(visit) -> None:  # noqa: ANN001
    admin = visit("admin")
    admin.goto("/admin/users")
    form = admin.page.locator("#create-user")
    username = form.locator("#username")
    username.fill("a")  # too short for the pattern: the browser's own message, in Chinese
    form.get_by_role("button", name="创建用户").click()
    assert admin.page.url.endswith("/admin/users")
    assert username.evaluate("el => el.validationMessage") == "2–60 位字母、数字或 . _ -，以字母或数字开头"
    username.fill("wlj_wang")
    form.locator("#display_name").fill("王五(市文旅局)")
    form.locator("#password").fill("short1")
    form.get_by_role("button", name="创建用户").click()
    message = form.locator("#password").evaluate("el => el.validationMessage")
    assert message == "至少 8 个字符（当前 6 个）", message
    form.get_by_role("button", name="随机生成").click()
    password = form.locator("#password").input_value()
    with admin.page.expect_navigation():
        form.get_by_role("button", name="创建用户").click()
    assert password not in admin.page.url
    alert = admin.page.locator(".alert-success")
    assert "用户已创建" in alert.inner_text() and f"初始密码：{password}" in alert.inner_text()
    admin.shot("用户已创建-显示初始密码")
    admin.page.reload()  # shown once: gone on the next load
    assert password not in admin.page.locator("body").inner_text()

    reset = admin.page.locator("#reset-password")
    reset.get_by_role("button", name="随机生成").click()
    new_password = reset.locator("#new-password").input_value()
    admin.page.once("dialog", lambda dialog: dialog.accept())
    with admin.page.expect_navigation():
        reset.get_by_role("button", name="重置密码").click()
    assert new_password not in admin.page.url
    alert = admin.page.locator(".alert-success")
    assert "密码已重置" in alert.inner_text() and f"新的初始密码：{new_password}" in alert.inner_text()

    person = visit()
    person.login("wlj_wang", new_password)
    assert person.page.url.endswith("/account/password")
    person.page.fill("#old_password", new_password)
    person.page.fill("#new_password", "Wenlv2026new")
    person.page.fill("#new_password_confirm", "Wenlv2026neu")
    person.page.get_by_role("button", name="修改密码").click()
    assert person.page.url.endswith("/account/password")  # not sent: the confirmation differs
    confirm = person.page.locator("#new_password_confirm")
    assert confirm.evaluate("el => el.validationMessage") == "两次输入的新密码不一致"
    person.page.fill("#new_password", "")
    person.page.get_by_role("button", name="修改密码").click()
    assert person.page.locator("#new_password").evaluate("el => el.validationMessage") == "请填写此项"
    person.shot("确认密码不一致")
    person.page.fill("#new_password", "Wenlv2026neu")
    with person.page.expect_navigation():
        person.page.get_by_role("button", name="修改密码").click()
    assert "密码已修改" in person.page.locator(".alert-success").inner_text()
