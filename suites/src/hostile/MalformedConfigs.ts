/**
 * Configs that must be refused before anything runs: exit 2, one line naming the file and the dotted key
 * (or the line, for syntax errors). `REPO` in a text stands for a valid repository path.
 */
export interface ConfigCase {
  name: string;
  text: string;
  /** File name of the config; its extension picks the parser. */
  file?: string;
  /** Command to run with it; `SOURCE` stands for a valid source directory. Default `list`. */
  command?: string[];
  status: number;
  pattern: RegExp;
  /** Files to write beside the config first: name → content and mode. */
  files?: Record<string, { content: string; mode: number }>;
}

const storage = '[storage]\nlocal.path = "REPO"\n';

/** Invalid TOML and JSON: RB001, naming the line where the parser says where. */
const syntax: ConfigCase[] = [
  { name: 'unclosed table header', text: '[storage\nlocal.path = "REPO"\n', status: 2, pattern: /RB001: .*malformed TOML: .*line 1/ },
  { name: 'key without value', text: '[storage]\nlocal.path =\n', status: 2, pattern: /RB001: .*malformed TOML: .*line 2/ },
  { name: 'unterminated string', text: '[storage]\nlocal.path = "REPO\n', status: 2, pattern: /RB001: .*malformed TOML: .*line 2/ },
  {
    name: 'unterminated multi-line string',
    text: `${storage}[s3]\nbucket = """b\n`,
    status: 2,
    pattern: /RB001: .*malformed TOML: .*line \d/,
  },
  { name: 'invalid escape', text: '[storage]\nlocal.path = "a\\qb"\n', status: 2, pattern: /RB001: .*malformed TOML: .*line 2/ },
  { name: 'bare key with a space', text: `${storage}[backup]\npart size = 1\n`, status: 2, pattern: /RB001: .*malformed TOML: .*line 4/ },
  { name: 'value without key', text: `${storage}= 3\n`, status: 2, pattern: /RB001: .*malformed TOML: .*line 3/ },
  { name: 'unclosed array', text: `plugins = ["a"\n${storage}`, status: 2, pattern: /RB001: .*malformed TOML: .*line \d/ },
  { name: 'unclosed inline table', text: '[storage]\nlocal = { path = "REPO"\n', status: 2, pattern: /RB001: .*malformed TOML: .*line 2/ },
  {
    name: 'trailing comma in inline table',
    text: '[storage]\nlocal = { path = "REPO", }\n',
    status: 2,
    pattern: /RB001: .*malformed TOML: .*line 2/,
  },
  {
    name: 'leading zero in a number',
    text: `${storage}[backup]\npart_size_mib = 016\n`,
    status: 2,
    pattern: /RB001: .*malformed TOML: .*line 4/,
  },
  {
    name: 'dangling underscore in a number',
    text: `${storage}[backup]\npart_size_mib = 1_\n`,
    status: 2,
    pattern: /RB001: .*malformed TOML: .*line 4/,
  },
  {
    name: 'integer beyond 64 bits',
    text: `${storage}[backup]\npart_size_mib = 99999999999999999999999\n`,
    status: 2,
    pattern: /RB00[12]: .*(line 4|backup\.part_size_mib)/,
  },
  {
    name: 'invalid date',
    text: `${storage}[backup]\npart_size_mib = 1979-13-45\n`,
    status: 2,
    pattern: /RB00[12]: .*(line 4|backup\.part_size_mib)/,
  },
  {
    name: 'duplicate key',
    text: '[storage]\nlocal.path = "REPO"\nlocal.path = "REPO"\n',
    status: 2,
    pattern: /RB001: .*malformed TOML: .*(line 3|path)/,
  },
  {
    name: 'duplicate table',
    text: `${storage}[backup]\nconcurrency = 1\n[backup]\nconcurrency = 2\n`,
    status: 2,
    pattern: /RB001: .*malformed TOML: .*(line 5|backup)/,
  },
  {
    name: 'key redefined as a table',
    text: `${storage}[backup]\nconcurrency = 1\n[backup.concurrency]\nx = 1\n`,
    status: 2,
    pattern: /RB001: .*malformed TOML: .*(line 5|concurrency)/,
  },
  {
    name: 'control character in a string',
    text: '[storage]\nlocal.path = "a\u0001b"\n',
    status: 2,
    pattern: /RB001: .*malformed TOML: .*line 2/,
  },
  {
    name: 'top-level key after a table header (plugins read as storage.plugins)',
    text: `${storage}plugins = ["x"]\n`,
    status: 2,
    pattern: /RB002: .*storage\.plugins: unknown key.*did you mean/,
  },
  {
    name: 'malformed JSON',
    file: 'config.json',
    text: '{"storage": {"local": {"path": "REPO"}}',
    status: 2,
    pattern: /RB001: .*config\.json: malformed JSON/,
  },
  {
    name: 'JSON whose top level is an array',
    file: 'config.json',
    text: '[1, 2]',
    status: 2,
    pattern: /RB001: .*malformed JSON: the top level is not an object/,
  },
];

/** Wrong types and out-of-range values: RB002 naming the dotted key. */
const values: ConfigCase[] = [
  { name: 'storage is not a table', text: 'storage = "REPO"\n', status: 2, pattern: /RB002: .*: storage: expected a table/ },
  { name: 'local.path is a number', text: '[storage]\nlocal.path = 5\n', status: 2, pattern: /RB002: .*: storage\.local\.path: .*string/ },
  {
    name: 'local.path is an array',
    text: '[storage]\nlocal.path = ["REPO"]\n',
    status: 2,
    pattern: /RB002: .*: storage\.local\.path: .*string/,
  },
  {
    name: 'local.group that does not exist',
    text: `${storage}local.group = "no-such-group-hostile"\n`,
    status: 2,
    pattern: /RB002: .*: storage\.local\.group: no group no-such-group-hostile/,
  },
  {
    name: 'part_size_mib 0',
    text: `${storage}[backup]\npart_size_mib = 0\n`,
    status: 2,
    pattern: /RB002: .*: backup\.part_size_mib: .*\[1; 1024\].*got 0/,
  },
  {
    name: 'part_size_mib huge',
    text: `${storage}[backup]\npart_size_mib = 4611686018427387904\n`,
    status: 2,
    pattern: /RB002: .*: backup\.part_size_mib: /,
  },
  {
    name: 'part_size_mib a float',
    text: `${storage}[backup]\npart_size_mib = 1.5\n`,
    status: 2,
    pattern: /RB002: .*: backup\.part_size_mib: .*integer/,
  },
  {
    name: 'part_size_mib a string',
    text: `${storage}[backup]\npart_size_mib = "16"\n`,
    status: 2,
    pattern: /RB002: .*: backup\.part_size_mib: .*number/,
  },
  {
    name: 'part_size_mib infinite',
    text: `${storage}[backup]\npart_size_mib = inf\n`,
    status: 2,
    pattern: /RB002: .*: backup\.part_size_mib: /,
  },
  {
    name: 'part_size_mib not a number',
    text: `${storage}[backup]\npart_size_mib = nan\n`,
    status: 2,
    pattern: /RB002: .*: backup\.part_size_mib: /,
  },
  {
    name: 'negative concurrency',
    text: `${storage}[backup]\nconcurrency = -3\n`,
    status: 2,
    pattern: /RB002: .*: backup\.concurrency: .*\[1; 64\]/,
  },
  {
    name: 'concurrency 0',
    text: `${storage}[backup]\nconcurrency = 0\n`,
    status: 2,
    pattern: /RB002: .*: backup\.concurrency: .*\[1; 64\]/,
  },
  {
    name: 'concurrency huge',
    text: `${storage}[backup]\nconcurrency = 100000\n`,
    status: 2,
    pattern: /RB002: .*: backup\.concurrency: .*\[1; 64\]/,
  },
  {
    name: 'backup is an array of tables',
    text: `${storage}[[backup]]\nconcurrency = 1\n`,
    status: 2,
    pattern: /RB002: .*: backup: expected a table/,
  },
  { name: 'plugins is a string', text: `plugins = "zstd"\n${storage}`, status: 2, pattern: /RB002: .*: plugins: .*array/ },
  { name: 'presets holds a number', text: `presets = [1]\n${storage}`, status: 2, pattern: /RB002: .*: presets(\[0\])?: .*string/ },
  {
    name: 'compression.level 0',
    text: `${storage}[compression]\nlevel = 0\n`,
    status: 2,
    pattern: /RB002: .*: compression\.level: .*\[1; 22\]/,
  },
  {
    name: 'compression.level 23',
    text: `${storage}[compression]\nlevel = 23\n`,
    status: 2,
    pattern: /RB002: .*: compression\.level: .*\[1; 22\]/,
  },
  {
    name: 'compression.algorithm unknown',
    text: `${storage}[compression]\nalgorithm = "gzip"\n`,
    status: 2,
    pattern: /RB002: .*: compression\.algorithm: /,
  },
  {
    name: 'btrfs.enabled a string',
    text: `${storage}[btrfs]\nenabled = "yes"\n`,
    status: 2,
    pattern: /RB002: .*: btrfs\.enabled: .*boolean/,
  },
  {
    name: 'btrfs.snapshot_dir a number',
    text: `${storage}[btrfs]\nsnapshot_dir = 1\n`,
    status: 2,
    pattern: /RB002: .*: btrfs\.snapshot_dir: .*string/,
  },
  {
    name: 'directory.one_file_system a number',
    text: `${storage}[directory]\none_file_system = 1\n`,
    status: 2,
    pattern: /RB002: .*: directory\.one_file_system: .*boolean/,
  },
  {
    name: 'encryption.enabled a string',
    text: `${storage}[encryption]\nenabled = "true"\n`,
    status: 2,
    pattern: /RB002: .*: encryption\.enabled: .*boolean/,
  },
  {
    name: 'encryption.key_path empty',
    text: `${storage}[encryption]\nkey_path = ""\n`,
    status: 2,
    pattern: /RB002: .*: encryption\.key_path: /,
  },
  {
    name: 'encryption.key_path a number',
    text: `${storage}[encryption]\nkey_path = 7\n`,
    status: 2,
    pattern: /RB002: .*: encryption\.key_path: .*string/,
  },
  {
    name: 'encryption.passphrase_env not a variable name',
    text: `${storage}[encryption]\npassphrase_env = "1 BAD"\n`,
    status: 2,
    pattern: /RB002: .*: encryption\.passphrase_env: /,
  },
  {
    name: 'signing.trusted not a fingerprint',
    text: `${storage}[signing]\ntrusted = ["not a fingerprint"]\n`,
    status: 2,
    pattern: /RB002: .*: signing\.trusted: \.\[0\]: .*"not a fingerprint"/,
  },
  {
    name: 'signing.key_path a number',
    text: `${storage}[signing]\nkey_path = 7\n`,
    status: 2,
    pattern: /RB002: .*: signing\.key_path: .*string/,
  },
  {
    name: 'signing on with a missing signing key (refused by create)',
    text: `${storage}[signing]\nkey_path = "missing-signing.key"\n`,
    command: ['create', 'SOURCE'],
    status: 2,
    pattern: /RB002: .*signing\.key_path: cannot read .*missing-signing\.key: no such file/,
  },
  {
    name: 'encryption enabled with a missing key (refused by create)',
    text: `${storage}[encryption]\nenabled = true\nkey_path = "missing.key"\n`,
    command: ['create', 'SOURCE'],
    status: 2,
    pattern: /RB002: .*missing\.key/,
  },
  {
    name: 'encryption key readable by others (refused by create)',
    text: `${storage}[encryption]\nkey_path = "open.key"\n`,
    files: { 'open.key': { content: '-----BEGIN PGP PRIVATE KEY BLOCK-----\n', mode: 0o644 } },
    command: ['create', 'SOURCE'],
    status: 2,
    pattern: /RB002: .*open\.key/,
  },
  {
    name: 'encryption key that is not a key (refused by create)',
    text: `${storage}[encryption]\nkey_path = "garbage.key"\n`,
    files: { 'garbage.key': { content: 'this is not an OpenPGP key\n', mode: 0o600 } },
    command: ['create', 'SOURCE'],
    status: 2,
    pattern: /RB002: .*garbage\.key/,
  },
  { name: 'retention.daily negative', text: `${storage}[retention]\ndaily = -1\n`, status: 2, pattern: /RB002: .*: retention\.daily: / },
  {
    name: 'retention.weekly a float',
    text: `${storage}[retention]\nweekly = 1.5\n`,
    status: 2,
    pattern: /RB002: .*: retention\.weekly: .*integer/,
  },
  {
    name: 'retention.monthly a string',
    text: `${storage}[retention]\nmonthly = "12"\n`,
    status: 2,
    pattern: /RB002: .*: retention\.monthly: .*number/,
  },
  {
    name: 'retention.full_every 0',
    text: `${storage}[retention]\ndaily = 7\nfull_every = 0\n`,
    status: 2,
    pattern: /RB002: .*: retention\.full_every: /,
  },
  {
    name: 'retention.full_after_days negative',
    text: `${storage}[retention]\ndaily = 7\nfull_after_days = -1\n`,
    status: 2,
    pattern: /RB002: .*: retention\.full_after_days: /,
  },
  {
    name: 'retention.leftover_age_hours below 1',
    text: `${storage}[retention]\ndaily = 7\nleftover_age_hours = 0.5\n`,
    status: 2,
    pattern: /RB002: .*: retention\.leftover_age_hours: /,
  },
  {
    name: 'retention.keep_tags a string',
    text: `${storage}[retention]\ndaily = 7\nkeep_tags = "x"\n`,
    status: 2,
    pattern: /RB002: .*: retention\.keep_tags: .*array/,
  },
  {
    name: 'retention.prune_after_create a string',
    text: `${storage}[retention]\ndaily = 7\nprune_after_create = "yes"\n`,
    status: 2,
    pattern: /RB002: .*: retention\.prune_after_create: .*boolean/,
  },
  {
    name: 'retention without a rule (refused by prune)',
    text: `${storage}[retention]\nkeep_tags = ["x"]\n`,
    command: ['prune'],
    status: 2,
    pattern: /RB002: .*retention/,
  },
  {
    name: 'notify.on an unknown outcome',
    text: `${storage}[notify]\non = ["sometimes"]\n`,
    status: 2,
    pattern: /RB002: .*: notify\.on(\[0\])?: /,
  },
  {
    name: 'notify.operations an unknown operation',
    text: `${storage}[notify]\noperations = ["backup"]\n`,
    status: 2,
    pattern: /RB002: .*: notify\.operations(\[0\])?: /,
  },
  {
    name: 'notify.webhook url not http',
    text: `${storage}[[notify.webhook]]\nurl = "ftp://example.com/"\n`,
    status: 2,
    pattern: /RB002: .*: notify\.webhook.*url/,
  },
  {
    name: 'notify.webhook without url',
    text: `${storage}[[notify.webhook]]\nretries = 1\n`,
    status: 2,
    pattern: /RB002: .*: notify\.webhook.*url/,
  },
  {
    name: 'notify.webhook retries 11',
    text: `${storage}[[notify.webhook]]\nurl = "https://example.com/"\nretries = 11\n`,
    status: 2,
    pattern: /RB002: .*: notify\.webhook.*retries/,
  },
  {
    name: 'notify.command empty',
    text: `${storage}[[notify.command]]\ncommand = []\n`,
    status: 2,
    pattern: /RB002: .*: notify\.command.*command/,
  },
  {
    name: 's3 without bucket',
    text: `${storage}[s3]\nregion = "eu-west-1"\n`,
    status: 2,
    pattern: /RB002: .*: s3\.bucket: missing \(required\)/,
  },
  { name: 's3.bucket a number', text: `${storage}[s3]\nbucket = 3\n`, status: 2, pattern: /RB002: .*: s3\.bucket: .*string/ },
  {
    name: 's3.endpoint not a URL',
    text: `${storage}[s3]\nbucket = "b"\nendpoint = "s3.example.com"\n`,
    status: 2,
    pattern: /RB002: .*: s3\.endpoint: /,
  },
  { name: 's3.region a number', text: `${storage}[s3]\nbucket = "b"\nregion = 1\n`, status: 2, pattern: /RB002: .*: s3\.region: .*string/ },
  {
    name: 's3.access_key_id without secret',
    text: `${storage}[s3]\nbucket = "b"\naccess_key_id = "AK"\n`,
    status: 2,
    pattern: /RB002: .*: s3\.secret_access_key: /,
  },
  {
    name: 's3.secret_access_key without access key',
    text: `${storage}[s3]\nbucket = "b"\nsecret_access_key = "SK"\n`,
    status: 2,
    pattern: /RB002: .*: s3\.access_key_id: /,
  },
  {
    name: 's3.session_token alone',
    text: `${storage}[s3]\nbucket = "b"\nsession_token = "T"\n`,
    status: 2,
    pattern: /RB002: .*: s3\.session_token: /,
  },
  { name: 's3.concurrency 0', text: `${storage}[s3]\nbucket = "b"\nconcurrency = 0\n`, status: 2, pattern: /RB002: .*: s3\.concurrency: / },
  {
    name: 's3.max_attempts 21',
    text: `${storage}[s3]\nbucket = "b"\nmax_attempts = 21\n`,
    status: 2,
    pattern: /RB002: .*: s3\.max_attempts: /,
  },
  {
    name: 's3.multipart_chunk_mib 4',
    text: `${storage}[s3]\nbucket = "b"\nmultipart_chunk_mib = 4\n`,
    status: 2,
    pattern: /RB002: .*: s3\.multipart_chunk_mib: /,
  },
  {
    name: 's3.request_timeout_seconds 0',
    text: `${storage}[s3]\nbucket = "b"\nrequest_timeout_seconds = 0\n`,
    status: 2,
    pattern: /RB002: .*: s3\.request_timeout_seconds: /,
  },
  {
    name: 's3.prefix starting with /',
    text: `${storage}[s3]\nbucket = "b"\nprefix = "/host1"\n`,
    status: 2,
    pattern: /RB002: .*: s3\.prefix: /,
  },
  {
    name: 's3.force_path_style a string',
    text: `${storage}[s3]\nbucket = "b"\nforce_path_style = "yes"\n`,
    status: 2,
    pattern: /RB002: .*: s3\.force_path_style: .*boolean/,
  },
];

/** Unknown and missing keys. */
const keys: ConfigCase[] = [
  { name: 'empty file', text: '', status: 2, pattern: /RB002: .*no storage configured/ },
  { name: 'storage table without a sink', text: '[storage]\n', status: 2, pattern: /RB002: .*no storage configured/ },
  {
    name: 'storage.local without path',
    text: '[storage.local]\ngroup = "root"\n',
    status: 2,
    pattern: /RB002: .*: storage\.local\.path: missing \(required\)/,
  },
  {
    name: 'misspelt local.path',
    text: '[storage]\nlocal.pth = "REPO"\n',
    status: 2,
    pattern: /RB002: .*: storage\.local\.pth: unknown key \(did you mean path\?\)/,
  },
  {
    name: 'unknown sink under storage',
    text: `${storage}locall.path = "x"\n`,
    status: 2,
    pattern: /RB002: .*: storage\.locall: unknown key.*did you mean local\?/,
  },
  {
    name: 'misspelt top-level table',
    text: `${storage}[compresion]\nlevel = 3\n`,
    status: 2,
    pattern: /RB002: .*: compresion: unknown key.*did you mean compression\?/,
  },
  {
    name: 'misspelt backup key',
    text: `${storage}[backup]\npart_size = 1\n`,
    status: 2,
    pattern: /RB002: .*: backup\.part_size: unknown key \(did you mean part_size_mib\?\)/,
  },
  {
    name: 'misspelt top-level key',
    text: `plugin = ["x"]\n${storage}`,
    status: 2,
    pattern: /RB002: .*: plugin: unknown key.*did you mean plugins\?/,
  },
  {
    name: 'misspelt retention key',
    text: `${storage}[retention]\ndayly = 7\n`,
    status: 2,
    pattern: /RB002: .*: retention\.dayly: unknown key \(did you mean daily\?\)/,
  },
  {
    name: 'misspelt s3 key',
    text: `${storage}[s3]\nbukcet = "b"\n`,
    status: 2,
    pattern: /RB002: .*: s3\.bukcet: unknown key \(did you mean bucket\?\)/,
  },
  {
    name: 'misspelt encryption key',
    text: `${storage}[encryption]\nkeypath = "k"\n`,
    status: 2,
    pattern: /RB002: .*: encryption\.keypath: unknown key \(did you mean key_path\?\)/,
  },
  {
    name: "the seed's [storage] s3 nesting",
    text: `${storage}s3.bucket = "b"\n`,
    status: 2,
    pattern: /RB002: .*: storage\.s3: unknown key.*did you mean/,
  },
  {
    name: 'unknown plugin',
    text: `plugins = ["no-such-plugin-hostile"]\n${storage}`,
    status: 2,
    pattern: /RB004: .*: plugins: plugin no-such-plugin-hostile not found/,
  },
  {
    name: 'unknown preset',
    text: `presets = ["no-such-preset-hostile"]\n${storage}`,
    status: 2,
    pattern: /RB004: .*: presets: preset no-such-preset-hostile not found/,
  },
  {
    name: 'plugin path that does not exist',
    text: `plugins = ["./missing-plugin.js"]\n${storage}`,
    status: 2,
    pattern: /RB004: .*: plugins: plugin .\/missing-plugin\.js not found/,
  },
];

export const MALFORMED_CONFIGS: ConfigCase[] = [...syntax, ...values, ...keys];
