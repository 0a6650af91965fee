"""preview/config.py: loading preview.yaml with its flags, validation messages, rendering."""

from __future__ import annotations

import dataclasses
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from preview import config, templating
from preview.config import Assignment, ConfigOverrides, HealthCheck, Timeouts
from preview.errors import PreviewError
from preview.pullrequest import PullRequest

SHA = "0123456789abcdef0123456789abcdef01234567"
PR = PullRequest("octo-org", "shop", 42, SHA, "feature/x", "mona")


@dataclass(frozen=True)
class Env:
    name: str = "pr-42"
    namespace: str = "preview-octo-org-shop-pr-42"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout: .git, a chart, preview.yaml written by each test."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "chart").mkdir()
    return tmp_path


def write(directory: Path, text: str, name: str = "preview.yaml") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def load_text(repo: Path, text: str, overrides: ConfigOverrides | None = None,
              domain: str | None = "example.com") -> config.PreviewConfig:
    """Load `text` as ./preview.yaml, with --domain when no domain is given otherwise."""
    write(repo, text)
    overrides = overrides or ConfigOverrides()
    if domain and overrides.domain is None and "domain:" not in text:
        overrides = dataclasses.replace(overrides, domain=domain)
    return config.load(None, overrides, cwd=repo)


def error_of(repo: Path, text: str, overrides: ConfigOverrides | None = None,
             domain: str | None = "example.com") -> str:
    with pytest.raises(PreviewError) as e:
        load_text(repo, text, overrides, domain)
    return e.value.message


@pytest.mark.parametrize("text", ["", "# only a comment\n", "{}\n"])
def test_empty_file_is_the_defaults(repo: Path, text: str) -> None:
    loaded = load_text(repo, text, ConfigOverrides(domain="preview.example.com"))
    assert loaded.source == repo / "preview.yaml"
    assert (loaded.chart, loaded.spec.release, loaded.spec.namespace, loaded.spec.ttl) == \
        (None, "app", "default", 7 * 86400)
    assert loaded.spec.timeouts == Timeouts(vcluster=300, deploy=300, health=60)
    assert loaded.health_check == HealthCheck("/", (200, 399))
    assert tuple(loaded.spec.readiness.kinds) == ("Deployment", "StatefulSet", "DaemonSet", "Job")
    with pytest.raises(PreviewError, match="no chart"):
        loaded.require_chart()


def test_no_file_means_flags_only(tmp_path: Path) -> None:
    loaded = config.load(None, ConfigOverrides(domain="example.com", ttl="1h"), cwd=tmp_path)
    assert (loaded.source, loaded.spec.domain, loaded.spec.ttl) == (None, "example.com", 3600)


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(PreviewError, match=r"^ci/preview\.yaml: no such file"):
        config.load(Path("ci/preview.yaml"), cwd=tmp_path)


@pytest.mark.parametrize(("text", "line"), [
    ("tll: 3d\n", "preview.yaml: tll: unknown key 'tll' — did you mean 'ttl'? valid keys "
                  "here: chart, release"),
    ("chart: {path: ./chart, verison: 1}\n", "preview.yaml: chart.verison: unknown key "
                                             "'verison' — did you mean 'version'?"),
    ("healthCheck: {pth: /}\n", "preview.yaml: healthCheck.pth: unknown key 'pth' — did you "
                                "mean 'path'?"),
    ("valuesfiles: [a.yaml]\n", "did you mean 'valuesFiles'?"),
    ("zzz: 1\n", "preview.yaml: zzz: unknown key 'zzz' — valid keys here: chart,"),
    ("release: 123\n", "preview.yaml: release: 123 is not a string — quote it"),
    ("values: [a, b]\n", "preview.yaml: values: ['a', 'b'] is not a mapping"),
    ("timeouts: {deploy: soon}\n", "preview.yaml: timeouts.deploy: 'soon' is not a duration"),
    ("labels: {cost-center: 1234}\n", "preview.yaml: labels.cost-center: 1234 is not a string"),
    ("readiness: {kinds: [Pod]}\n", "preview.yaml: readiness.kinds[0]: 'Pod' is not allowed"
                                    " — use one of: 'Deployment'"),
    ("healthCheck: {expectStatus: [500, 200]}\n", "healthCheck.expectStatus: [500, 200] is "
                                                  "not a range of HTTP statuses"),
    ("healthCheck: {path: health}\n", "'health' is not an absolute URL path"),
    ("release: My_App\n", "preview.yaml: release: 'My_App' is not a helm release name"),
    ("namespace: ''\n", "preview.yaml: namespace: '' is not a namespace name"),
    ("domain: 'exa mple.com'\n", "preview.yaml: domain: 'exa mple.com' is not a DNS domain"),
    ("set: [novalue]\n", "preview.yaml: set: 'novalue' is not KEY=VALUE"),
    ("chart: {path: ./chart, oci: 'oci://r/c'}\n", "chart: needs exactly one of path, repo, "
                                                   "oci (got path, oci)"),
    ("chart: {repo: 'https://c.example.com'}\n", "chart: repo needs name"),
    ("chart: {oci: 'ghcr.io/x'}\n", "chart: oci 'ghcr.io/x' does not start with oci://"),
    ("chart: {path: ./missing}\n", "preview.yaml: chart.path: './missing' does not exist"),
    ("labels: {preview-vcluster.io/team: x}\n", "uses the reserved prefix preview-vcluster.io/"),
    ("labels: {kubernetes.io/team: x}\n", "prefix 'kubernetes.io' is not a DNS name of yours"),
    ("labels: {'bad key!': x}\n", "label key 'bad key!' is not a label name"),
    ("labels: {team: 'pay ments'}\n", "label team: value 'pay ments' is not a label value"),
    ("labels: {team: " + "x" * 64 + "}\n", "is not a label value"),
])
def test_validation_names_file_field_and_fix(repo: Path, text: str, line: str) -> None:
    assert line in error_of(repo, text, ConfigOverrides(domain="example.com"))


def test_every_problem_on_its_own_line(repo: Path) -> None:
    lines = error_of(repo, "tll: 1\nrelease: 5\nttl: never\n").splitlines()
    assert len(lines) == 3
    assert all(line.startswith("preview.yaml: ") and " — " in line for line in lines)


@pytest.mark.parametrize(("ttl", "seconds"), [
    ("30s", 30), ("90m", 5400), ("36h", 129600), ("7d", 604800), ("1h30m", 5400),
    ("3600", 3600), (3600, 3600), ("2w", 1209600),
])
def test_ttl(repo: Path, ttl: object, seconds: int) -> None:
    loaded = load_text(repo, f"ttl: {ttl!r}\n" if isinstance(ttl, str) else f"ttl: {ttl}\n")
    assert loaded.spec.ttl == seconds


@pytest.mark.parametrize(("ttl", "shown"), [
    ("'7 days'", "'7 days' is not a duration"), ("0", "0 is not a positive duration"),
    ("-5", "-5 is not a positive duration"), ("0s", "'0s' is not a positive duration"),
    ("abc", "'abc' is not a duration"), ("true", "True is not a duration"),
    ("'7d3'", "'7d3' is not a duration"), ("99999d", "'99999d' is longer than 10 years"),
])
def test_bad_ttl(repo: Path, ttl: str, shown: str) -> None:
    assert error_of(repo, f"ttl: {ttl}\n") == \
        f"preview.yaml: ttl: {shown} — use a number and a unit: 30s, 90m, 36h, 7d " \
        "(or 1h30m; a bare number means seconds)"


@pytest.mark.parametrize(("text", "line"), [
    ("ttl: 7d\n  bad: [\n", "preview.yaml:2: YAML syntax error"),
    ("a: 1\nb: [1, 2\n", "preview.yaml:3: YAML syntax error"),
    ("ttl: 1d\nttl: 2d\n", "preview.yaml:2: YAML syntax error: duplicate key 'ttl'"),
    ("- a\n- b\n", "preview.yaml: the top level is a list, not a mapping"),
])
def test_yaml_errors_name_the_line(repo: Path, text: str, line: str) -> None:
    assert error_of(repo, text).startswith(line)


def test_flags_win(repo: Path) -> None:
    write(repo, "x: 1\n", "flag-values.yaml")
    (repo / "other-chart").mkdir()
    loaded = load_text(repo, """\
        chart: {path: ./not-there-but-replaced-by-the-flag}
        release: app
        namespace: shop
        domain: file.example.com
        ttl: 7d
        url: "https://file.{{ domain }}"
        set: ["a=1"]
        timeouts: {vcluster: 100, deploy: 200, health: 30}
        """, ConfigOverrides(chart="other-chart", release="web", namespace="web", ttl="2h",
                             domain="flag.example.com", url="https://{{ pr.number }}.x.dev",
                             set_values=("a=2",), values_files=("flag-values.yaml",),
                             timeout="10m"))
    assert loaded.chart is not None and loaded.chart.path == repo / "other-chart"
    spec = loaded.spec
    assert (spec.release, spec.namespace, spec.ttl, spec.domain, spec.url) \
        == ("web", "web", 7200, "flag.example.com", "https://{{ pr.number }}.x.dev")
    assert loaded.set_values == (Assignment("a=1", "preview.yaml: set[0]"),
                                 Assignment("a=2", "--set a"))
    assert loaded.spec.timeouts == Timeouts(vcluster=600, deploy=600, health=600)
    assert config.render(loaded, PR, Env()).values == {"a": 2, "x": 1}
    assert loaded.where("url") == "--url" and loaded.where("values") == "preview.yaml: values"


def test_merge_order_file_then_flags(repo: Path) -> None:
    write(repo, "a: file-values-file\nb: file-values-file\nc: file-values-file\n"
                "d: file-values-file\ne: file-values-file\n", "in-repo.yaml")
    write(repo, "a: flag-values-file\nb: flag-values-file\n", "from-flag.yaml")
    loaded = load_text(repo, """\
        valuesFiles: [in-repo.yaml]
        values: {b: values, c: values, d: values}
        set: [b=set, c=set]
        """, ConfigOverrides(values_files=("from-flag.yaml",), set_values=("a=flag-set",)))
    assert config.render(loaded, PR, Env()).values == {
        "a": "flag-set", "b": "flag-values-file", "c": "set", "d": "values",
        "e": "file-values-file"}


@pytest.mark.parametrize(("overrides", "line"), [
    (ConfigOverrides(ttl="7 days"), "--ttl: '7 days' is not a duration — use a number"),
    (ConfigOverrides(timeout="0"), "--timeout: '0' is not a positive duration"),
    (ConfigOverrides(release="Web!"), "--release: 'Web!' is not a helm release name"),
    (ConfigOverrides(domain="-x-"), "--domain: '-x-' is not a DNS domain"),
    (ConfigOverrides(set_values=("novalue",)), "--set: 'novalue' is not KEY=VALUE"),
    (ConfigOverrides(chart="https://charts.example.com/app"), "--chart: 'https://charts"),
    (ConfigOverrides(chart="nowhere"), "--chart: 'nowhere' does not exist"),
    (ConfigOverrides(values_files=("nowhere.yaml",)), "--values: 'nowhere.yaml' does not exist"),
    (ConfigOverrides(chart_version="1.0"), "--chart-version: only a repo or oci chart"),
])
def test_bad_flags_name_the_flag(repo: Path, overrides: ConfigOverrides, line: str) -> None:
    assert error_of(repo, "", overrides).startswith(line)


def test_chart_kinds(repo: Path) -> None:
    repo_chart = load_text(repo, "chart: {repo: 'https://charts.example.com', name: app, "
                                 "version: 1.2.3}\n").chart
    assert repo_chart == config.Chart("repo", repo="https://charts.example.com", name="app",
                                      version="1.2.3")
    oci = load_text(repo, "chart: {oci: 'oci://ghcr.io/o/app', version: '1.0'}\n",
                    ConfigOverrides(chart_version="2.0")).chart
    assert oci is not None and (oci.ref, oci.version) == ("oci://ghcr.io/o/app", "2.0")
    flag = config.load(None, ConfigOverrides(chart="oci://r.example/c", chart_version="3",
                                             domain="x.dev"), cwd=repo).chart
    assert flag == config.Chart("oci", oci="oci://r.example/c", version="3")


def test_relative_paths_resolve_against_the_file(repo: Path, tmp_path_factory:
                                                  pytest.TempPathFactory) -> None:
    write(repo, "image: {tag: '{{ pr.short_sha }}'}\n", "deploy/values-preview.yaml")
    (repo / "deploy" / "chart").mkdir()
    write(repo, "chart: {path: chart}\nvaluesFiles: [values-preview.yaml]\n",
          "deploy/preview.yaml")
    elsewhere = tmp_path_factory.mktemp("cwd")
    loaded = config.load(repo / "deploy" / "preview.yaml", ConfigOverrides(domain="x.dev"),
                         cwd=elsewhere)
    assert loaded.chart is not None and loaded.chart.path == repo / "deploy" / "chart"
    assert loaded.values_files[0].path == repo / "deploy" / "values-preview.yaml"
    assert config.render(loaded, PR, Env()).values == {"image": {"tag": SHA[:7]}}


@pytest.mark.parametrize("name", ["../outside.yaml", "/etc/hostname", "link.yaml"])
def test_preview_yaml_cannot_name_files_outside_the_repository(repo: Path, name: str) -> None:
    secret = write(repo.parent, "token: s3cret\n", "outside.yaml")
    (repo / "link.yaml").symlink_to(secret)
    message = error_of(repo, f"valuesFiles: [{name!r}]\n")
    assert message.startswith(f"preview.yaml: valuesFiles[0]: {name!r} is outside the repository")


def test_chart_path_outside_the_repository(repo: Path) -> None:
    (repo.parent / "evil-chart").mkdir(exist_ok=True)
    assert "is outside the repository" in error_of(repo, "chart: {path: ../evil-chart}\n")


@pytest.mark.parametrize(("files", "line"), [
    ({"preview.yaml": "values: {image: {tag: '{{ pr.sha }}'}}\n"},
     "preview.yaml: values.image.tag: 'pr.sha' is undefined"),
    ({"preview.yaml": "valuesFiles: [v.yaml]\n", "v.yaml": "a: [{b: '{{ pr.nope }}'}]\n"},
     "v.yaml: a[0].b: 'pr.nope' is undefined"),
    ({"preview.yaml": "set: ['host={{ host }}']\n"},
     "preview.yaml: set[0]: 'host' is undefined — available variables: pr.number"),
    ({"preview.yaml": "values: {a: '{{ oops }'}\n"},
     "preview.yaml: values.a: template syntax error"),
    ({"preview.yaml": "url: 'https://x.{{ env.host }}'\n"},
     "preview.yaml: url: 'env.host' is undefined"),
    ({"preview.yaml": "vcluster: {a: '{{ 1/0 }}'}\n"}, "preview.yaml: vcluster.a: the template"),
    ({"preview.yaml": "values: {a: \"{{ ''.__class__.__mro__ }}\"}\n"},
     "preview.yaml: values.a: the template is refused by the sandbox"),
    ({"preview.yaml": "values: {a: [\"{{ 'x'|center(10**9) }}\"]}\n"},
     "preview.yaml: values.a[0]: the template needs more than 64 MiB of memory to render"),
    ({"preview.yaml": "valuesFiles: [v.yaml]\n", "v.yaml": "a: \"{{ '%*s'|format(10**9, 1) }}\"\n"},
     "v.yaml: a: the template needs more than 64 MiB of memory"),
    ({"preview.yaml": "set: [\"a={{ ('x' * 60000)|replace('x', 'y' * 60000) }}\"]\n"},
     "preview.yaml: set[0]: the template needs more than 64 MiB of memory"),
    ({"preview.yaml": "url: \"https://{{ 'x'|indent(10**9, true) }}.example.com\"\n"},
     "preview.yaml: url: the template needs more than 64 MiB of memory"),
])
def test_template_errors_at_load(repo: Path, files: dict[str, str], line: str) -> None:
    for name, text in files.items():
        write(repo, text, name)
    with pytest.raises(PreviewError) as e:
        config.load(None, ConfigOverrides(domain="example.com"), cwd=repo)
    assert e.value.message.startswith(line)
    assert e.value.hint


def test_domain_required_by_the_default_url(repo: Path) -> None:
    assert error_of(repo, "ttl: 1d\n", domain=None).startswith(
        "preview.yaml: url: uses {{ domain }} but no domain is set — set domain:")
    assert load_text(repo, "url: 'http://localhost.test:8080/{{ pr.number }}'\n",
                     domain=None).spec.domain is None


def test_render(repo: Path) -> None:
    write(repo, "image: {repository: shop, tag: base}\nreplicas: 1\n", "values-preview.yaml")
    loaded = load_text(repo, """\
        chart: {path: ./chart}
        domain: preview.example.com
        valuesFiles: [values-preview.yaml]
        values:
          image: {tag: "{{ pr.head_sha }}"}
          ingress: {hosts: [{host: "{{ env.host }}"}]}
          branch: "{{ pr.branch }}"
        set: ["replicas=2", "build={{ pr.number }}", "debug=true"]
        labels: {team: payments}
        vcluster: {isolation: {quota: {pods: 10}}}
        """, ConfigOverrides(set_values=("extra.url={{ env.url }}",)))
    pr = PullRequest("octo-org", "shop", 42, SHA, "{{ 7*7 }}\nevil: true", "mona")
    rendered = config.render(loaded, pr, Env())
    assert rendered.url == "https://pr-42-shop.preview.example.com"
    assert rendered.host == "pr-42-shop.preview.example.com"
    assert rendered.values == {
        "image": {"repository": "shop", "tag": SHA},
        "replicas": 2, "build": "42", "debug": True,  # templated --set values stay strings
        "ingress": {"hosts": [{"host": "pr-42-shop.preview.example.com"}]},
        "branch": "{{ 7*7 }}\nevil: true",
        "extra": {"url": "https://pr-42-shop.preview.example.com"},
    }
    assert rendered.vcluster_values == {
        "isolation": {"ingress": {"allowedHosts": ["pr-42-shop.preview.example.com"]},
                      "quota": {"pods": 10}, "podSecurity": "baseline"},
        "sync": {"extraLabels": {"team": "payments"}}}  # cost attribution on every synced pod
    assert rendered.labels == {"team": "payments"}
    assert rendered.ttl_seconds == 7 * 86400
    assert (rendered.release, rendered.namespace) == ("app", "default")


@pytest.mark.parametrize(("repo_name", "host"), [
    ("shop", "pr-42-shop.preview.example.com"),
    ("Shop", "pr-42-shop.preview.example.com"),
    ("my_app", "pr-42-my-app-"),  # hashed: my_app and my-app may both exist
    ("web.site", "pr-42-web-site-"),
])
def test_default_url_host_is_a_dns_name_for_any_repository(repo: Path, repo_name: str,
                                                           host: str) -> None:
    loaded = load_text(repo, "domain: preview.example.com\n")
    rendered = config.render(loaded, PullRequest("o", repo_name, 42, SHA, "b", "a"), Env())
    assert rendered.host.startswith(host) and rendered.host.endswith(".preview.example.com")
    assert rendered.url == f"https://{rendered.host}"


@pytest.mark.parametrize("url", ["ftp://x.example.com", "https://user:pw@x.example.com",
                                 "x.example.com", "https://under_score.example.com"])
def test_url_must_be_http_with_a_dns_host(repo: Path, url: str) -> None:
    assert error_of(repo, "", ConfigOverrides(url=url)).startswith(
        f"--url: renders to {url!r}, not an http(s) URL with a DNS host")


def test_url_from_pr_text_is_checked_at_render(repo: Path) -> None:
    loaded = load_text(repo, "url: 'https://{{ pr.branch }}.example.com'\n")
    weird = PullRequest("o", "r", 1, SHA, "Not A_Host!", "a")
    with pytest.raises(PreviewError, match=r"^preview\.yaml: url: renders to 'https://Not A_Host!"):
        config.render(loaded, weird, Env())


def test_health_check_off(repo: Path) -> None:
    assert load_text(repo, "healthCheck: false\ndomain: x.dev\n").health_check is None
    single = load_text(repo, "healthCheck: {path: /healthz, expectStatus: 204}\ndomain: x.dev\n")
    assert single.health_check == HealthCheck("/healthz", (204, 204))


def test_unhashable_yaml_key_is_an_error_not_a_crash(repo: Path) -> None:
    assert error_of(repo, "? [a, b]\n: 1\n").startswith("preview.yaml:")


def test_the_template_budget_is_the_callers(repo: Path) -> None:
    write(repo, "b: \"{{ 'y' * 40 }}\"\n", "v.yaml")
    text = "valuesFiles: [v.yaml]\nvalues: {a: \"{{ 'x' * 40 }}\", c: \"{{ 'x' * 40 }}\"}\n"
    write(repo, text)
    # the url (28 bytes for the trial render's sample PR) counts in preview.yaml's share
    small = templating.Budget(value_bytes=50, file_bytes=100)
    with pytest.raises(PreviewError) as e:
        config.load(None, ConfigOverrides(domain="example.com"), cwd=repo, budget=small)
    assert e.value.message == ("preview.yaml: values.c: preview.yaml's templates render to "
                               "more than 100 bytes together")
    roomy = templating.Budget(value_bytes=50, file_bytes=150)
    loaded = config.load(None, ConfigOverrides(domain="example.com"), cwd=repo, budget=roomy)
    assert config.render(loaded, PR, Env(), budget=roomy).values == \
        {"a": "x" * 40, "b": "y" * 40, "c": "x" * 40}
    # values files render first; repetition beyond a value's size is refused before it is built
    with pytest.raises(PreviewError, match=r"^v.yaml: b: the template is refused by the "
                                           r"sandbox: repetition too large"):
        config.render(loaded, PR, Env(), budget=templating.Budget(value_bytes=30))


def test_a_template_may_use_its_own_names(repo: Path) -> None:
    loaded = load_text(repo, 'values: {a: "{% for c in pr.author %}{{ c|upper }}{% endfor %}"}\n')
    assert config.render(loaded, PR, Env()).values == {"a": "MONA"}
