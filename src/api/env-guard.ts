/**
 * Environment variables a secrets file must never set: they make programs load code, run commands,
 * trust other certificates, or send traffic elsewhere. Names are compared upper-cased (Windows
 * ignores case, and curl and Python read `http_proxy` in lower case). docs/CI.md explains each group.
 */
const EXACT: ReadonlyMap<string, string> = new Map(
  Object.entries({
    // glibc's UNSECURE_ENVVARS (sysdeps/generic/unsecvars.h), the list it strips for setuid programs.
    'the C library reads it': [
      'GCONV_PATH', 'GETCONF_DIR', 'GLIBC_TUNABLES', 'HOSTALIASES', 'LOCALDOMAIN', 'LOCPATH', 'MALLOC_TRACE',
      'NIS_PATH', 'NLSPATH', 'RESOLV_HOST_CONF', 'RES_OPTIONS', 'TMPDIR', 'TZDIR',
    ],
    'shells read it': [
      'BASH_ENV', 'ENV', 'SHELLOPTS', 'BASHOPTS', 'PS1', 'PS2', 'PS3', 'PS4', 'PROMPT_COMMAND', 'IFS', 'CDPATH',
      'GLOBIGNORE', 'ZDOTDIR', 'SHELL',
    ],
    'it decides where programs and configuration are found': ['PATH', 'HOME'],
    'interpreters read it': [
      'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'CLASSPATH', 'PERLLIB', 'PHPRC', 'PHP_INI_SCAN_DIR',
      'TCLLIBPATH', 'R_PROFILE', 'R_PROFILE_USER', 'R_ENVIRON', 'R_ENVIRON_USER', 'GOFLAGS', 'COR_PROFILER',
      'COR_PROFILER_PATH', 'COR_ENABLE_PROFILING',
    ],
    'tools run the command it names': ['EDITOR', 'VISUAL', 'PAGER', 'MANPAGER', 'BROWSER', 'LESSOPEN', 'LESSCLOSE', 'SSH_ASKPASS', 'SUDO_ASKPASS'],
    'it changes TLS trust or routes traffic': [
      'SSL_CERT_FILE', 'SSL_CERT_DIR', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY',
      'FTP_PROXY', 'NO_PROXY',
    ],
    'it points tools at settings that can run commands': ['AWS_CONFIG_FILE', 'KUBECONFIG', 'DOCKER_CONFIG', 'DOCKER_HOST', 'SSH_AUTH_SOCK'],
    'the CI runner reads it': ['GITHUB_ENV', 'GITHUB_OUTPUT', 'GITHUB_PATH', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY', 'GITHUB_ACTIONS'],
  }).flatMap(([group, names]) => names.map((n) => [n, group] as const)),
);

const PREFIXES: readonly (readonly [string, string])[] = [
  ['LD_', 'the dynamic loader reads it'],
  ['DYLD_', 'the dynamic loader reads it'],
  ['BASH_FUNC_', 'shells read it'],
  ['NODE_', 'interpreters read it'],
  ['NPM_CONFIG_', 'interpreters read it'],
  ['PYTHON', 'interpreters read it'],
  ['PERL5', 'interpreters read it'],
  ['RUBY', 'interpreters read it'],
  ['GEM_', 'interpreters read it'],
  ['BUNDLE_', 'interpreters read it'],
  ['LUA_', 'interpreters read it'],
  ['DOTNET_', 'interpreters read it'],
  ['CORECLR_', 'interpreters read it'],
  ['PIP_', 'package installers read it'],
  ['GIT_', 'git reads it'],
  ['GITSEAL_', 'git-seal reads it'],
  ['SOPS_', 'git-seal reads it'],
  ['XDG_', 'it decides where programs and configuration are found'],
  ['OPENSSL_', 'it changes TLS trust or routes traffic'],
  ['ACTIONS_', 'the CI runner reads it'],
  ['RUNNER_', 'the CI runner reads it'],
];

/** Why a variable must not come from a secrets file ("shells read it"), or null when it may. */
export function dangerousEnvName(name: string): string | null {
  const upper = name.toUpperCase();
  const exact = EXACT.get(upper);
  if (exact) return exact;
  for (const [prefix, group] of PREFIXES) if (upper.startsWith(prefix)) return group;
  return null;
}
