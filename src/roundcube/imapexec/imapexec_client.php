<?php

/**
 * imapexec_client: a short-lived IMAP connection of the imapexec plugin
 * that can run EXECUTE commands (see imapexec's README, "The EXECUTE
 * protocol").
 *
 * Why a connection of its own: behind Dovecot's post-login (imapexec -P)
 * the login reply advertises EXECUTE-SYNC=<token>, and imapexec takes
 * EXECUTE only on a connection whose very first command after the login
 * was "<tag> NOOP <token>".  Roundcube's session connection has sent
 * other commands (CAPABILITY, ID, SELECT, ...) by the time a plugin runs,
 * so there EXECUTE goes to Dovecot, which answers BAD.  This class logs in
 * like Roundcube does (same host, port, TLS, options, user and password),
 * sends the sync NOOP first, runs the commands and logs out.
 *
 * Every argument goes on the wire as built by arg(): an IMAP quoted string
 * or a synchronizing literal, never an atom, so an argument is always
 * exactly one argument whatever it holds.
 *
 * @license GNU GPLv3+ (as Roundcube's plugins); part of imapexec
 */
class imapexec_client extends rcube_imap_generic
{
    /** Longest argument sent as a quoted string; longer ones are literals */
    public const QUOTED_MAX = 1000;

    /** The text of run() when the server did not answer (timeout or hang-up) */
    public const NO_ANSWER = 'no answer from the mail server (timeout or connection closed)';

    /**
     * arg($value): the wire form of one EXECUTE argument.
     *
     * @param string $value The argument's octets
     *
     * @return string|null "\"...\"" (backslash and double quote escaped)
     *                     when $value is printable ASCII (plus TAB) and at
     *                     most QUOTED_MAX octets; "{N}\r\n" followed by the
     *                     octets (a literal) otherwise; null when $value
     *                     holds NUL, which no IMAP string may hold
     */
    public static function arg($value)
    {
        $value = (string) $value;

        if (strpos($value, "\0") !== false) {
            return null;
        }

        if (
            strlen($value) <= self::QUOTED_MAX
            && !preg_match('/[\x00-\x08\x0A-\x1F\x7F-\xFF]/', $value)
        ) {
            return '"' . strtr($value, ['\\' => '\\\\', '"' => '\\"']) . '"';
        }

        return '{' . strlen($value) . "}\r\n" . $value;
    }

    /**
     * open($rcmail): log in to the session's IMAP server as the session's
     * user, as Roundcube does (rcube_imap::connect): the storage's options
     * (after the storage_init and imap_init hooks: OAuth's XOAUTH2, ...),
     * the session's host, port and TLS, imap_conn_options, then the
     * storage_connect hook (a plugin may give the password, GSSAPI, other
     * socket options); and do the post-login sync when the server asks.
     *
     * @param rcmail $rcmail The Roundcube instance (a logged-in session)
     *
     * @return imapexec_client|null The connection, or null (not logged in,
     *                              or the login failed: see rcube's log)
     */
    public static function open($rcmail)
    {
        if (empty($_SESSION['storage_host']) || empty($_SESSION['username'])) {
            return null;
        }

        $storage = $rcmail->get_storage();
        $ssl     = $_SESSION['storage_ssl'] ?? null;
        $options = ['port' => $_SESSION['storage_port']];
        // the options rcmail::storage_init() always sets
        foreach (['auth_type', 'auth_cid', 'auth_pw', 'disabled_caps', 'socket_options', 'timeout'] as $name) {
            $options[$name] = $storage->get_option($name);
        }
        $options['timeout'] = (int) $options['timeout'];

        if ($ssl) {
            $options['ssl_mode'] = $ssl == 'imaps' ? 'ssl' : $ssl;
        }

        $data = $rcmail->plugins->exec_hook('storage_connect', array_merge($options, [
                'host'    => $_SESSION['storage_host'],
                'user'    => $_SESSION['username'],
                'attempt' => 1,
                'retry'   => false,
        ]));
        $pass = !empty($data['pass']) ? $data['pass'] : $rcmail->decrypt($_SESSION['password']);
        unset($data['pass']);

        if (!empty($data['socket_options'])) {
            rcube_utils::parse_socket_options($data['socket_options'], $data['host']);
        }

        $conn = self::sync_login(
            $data['host'],
            $data['user'],
            $pass,
            $data,
            (bool) $rcmail->config->get('imap_debug')
        );

        if (is_string($conn)) {
            rcube::raise_error([
                    'code' => 600, 'type' => 'imap', 'file' => __FILE__, 'line' => __LINE__,
                    'message' => 'imapexec: ' . $conn,
                ], true, false);

            return null;
        }

        return $conn;
    }

    /**
     * sync_login($host, $user, $pass, $options, $debug): connect and log in
     * with rcube_imap_generic's options, then, when the login reply's
     * capabilities hold EXECUTE-SYNC=<token>, send "<tag> NOOP <token>"
     * as the first command.
     *
     * @param string $host    Host name or address
     * @param string $user    Login name
     * @param string $pass    Password
     * @param array  $options rcube_imap_generic::connect() options (port,
     *                        ssl_mode, socket_options, auth_type, ...)
     * @param bool   $debug   Log the IMAP dialogue (imap log)
     *
     * @return imapexec_client|string The connection, or why it failed
     */
    public static function sync_login($host, $user, $pass, $options, $debug = false)
    {
        // no 'ident', 'preauth_ident' or 'force_caps': nothing may come
        // between the login and the sync NOOP
        unset($options['ident'], $options['preauth_ident'], $options['force_caps']);

        $conn = new self();
        if ($debug) {
            $conn->setDebug(true, [$conn, 'debug_log']);
        }

        if (!$conn->connect($host, $user, $pass, $options)) {
            return 'login failed: ' . $conn->error;
        }

        // the login reply's capabilities (parsed by connect); the token is
        // 32 hex digits, imapexec takes it in either case; anything else
        // is never sent back (it could be IMAP syntax: a literal, a CRLF)
        $sync = $conn->getCapability('EXECUTE-SYNC');
        if (is_array($sync) && !empty($sync[0])) {
            if (!preg_match('/\A[0-9a-f]{32}\z/i', $sync[0])) {
                $conn->closeConnection();
                return 'the server sent an invalid EXECUTE-SYNC token';
            }
            if ($conn->execute('NOOP', [$sync[0]], self::COMMAND_NORESPONSE) != self::ERROR_OK) {
                $conn->closeConnection();
                return 'the post-login sync (NOOP) failed';
            }
        }

        return $conn;
    }

    /**
     * debug_log($conn, $message): Roundcube's imap log, for imap_debug.
     *
     * @param rcube_imap_generic $conn    This connection
     * @param string             $message The line to log
     */
    public function debug_log($conn, $message)
    {
        rcube::write_log('imap', 'imapexec: ' . $message);
    }

    /**
     * has_execute(): the server advertises EXECUTE on this connection.
     *
     * @return bool
     */
    public function has_execute()
    {
        return (bool) $this->getCapability('EXECUTE');
    }

    /**
     * services(): the services this user may run (EXECUTE discovery).
     *
     * @return array|null Service names, or null when EXECUTE failed
     */
    public function services()
    {
        $res = $this->run([]);

        if ($res['code'] != self::ERROR_OK) {
            return null;
        }

        $names = [];
        if (preg_match_all('/^\* EXECUTE SERVICE ("(?:[^"\\\\]|\\\\.)*"|[^\s(]+) \(/m', $res['raw'], $m)) {
            foreach ($m[1] as $name) {
                if ($name[0] == '"') {
                    $name = self::unquote(substr($name, 1, -1));
                }
                $names[] = $name;
            }
        }

        return $names;
    }

    /**
     * run($args): run one "EXECUTE <args...>" (a one-shot service, or
     * discovery when $args is empty) and wait for its tagged response.
     *
     * @param array $args The service name and its arguments (strings)
     *
     * @return array 'code' (ERROR_OK, ERROR_NO, ...), 'text' (the tagged
     *               response's text), 'out' and 'err' (the reassembled
     *               output streams), 'raw' (the untagged lines)
     */
    public function run(array $args)
    {
        $result = ['code' => self::ERROR_COMMAND, 'text' => self::NO_ANSWER, 'out' => '', 'err' => '', 'raw' => ''];
        $tag    = $this->nextTag();
        $line   = "$tag EXECUTE";

        foreach ($args as $arg) {
            $wire = self::arg($arg);
            if ($wire === null) {
                $result['code'] = self::ERROR_BAD;
                $result['text'] = 'an argument holds a NUL octet';
                return $result;
            }

            if ($wire[0] == '{') {
                // a synchronizing literal: its header ends the line; the
                // octets follow once the server said "+"
                $nl = strpos($wire, "\r\n");
                if (!$this->putLine($line . ' ' . substr($wire, 0, $nl))) {
                    return $result;
                }
                $reply = $this->readReply();
                if (!isset($reply[0]) || $reply[0] != '+') {
                    $result['code'] = $this->parseResult($reply);
                    $result['text'] = $this->result;
                    return $result;
                }
                $line = substr($wire, $nl + 2);
            }
            else {
                $line .= ' ' . $wire;
            }
        }

        if (!$this->putLine($line)) {
            return $result;
        }

        do {
            $resp = $this->readFullLine(4096);
            if ($resp === '' && !$this->fp) {
                return $result;
            }
            if (!$this->startsWith($resp, $tag . ' ', true, true)) {
                $result['raw'] .= $resp;
            }
        }
        while (!$this->startsWith($resp, $tag . ' ', true, true));

        $result['code'] = $this->parseResult($resp);
        $result['text'] = (string) $this->result;

        foreach (self::output($result['raw']) as $chunk) {
            $result[$chunk[0] == 'OUT' ? 'out' : 'err'] .= $chunk[1];
        }

        return $result;
    }

    /**
     * output($raw): the OUT and ERR chunks of EXECUTE output lines.
     *
     * @param string $raw Untagged response lines, literals included
     *
     * @return array [stream ("OUT" or "ERR"), octets] pairs in order; a
     *               quoted chunk gets back its end of line ("\n"), a
     *               literal chunk is its exact octets
     */
    public static function output($raw)
    {
        $chunks = [];
        $pos    = 0;
        $len    = strlen($raw);

        while ($pos < $len) {
            if (preg_match('/\G\* EXECUTE \(TAG "[^"]*"\) (OUT|ERR) /', $raw, $m, 0, $pos)) {
                $rest = substr($raw, $pos + strlen($m[0]));
                $lit  = preg_match('/^~?\{(\d+)\}\r\n/', $rest, $h);
                if ($lit) {
                    $chunks[] = [$m[1], substr($rest, strlen($h[0]), (int) $h[1])];
                    $pos += strlen($m[0]) + strlen($h[0]) + (int) $h[1];
                }
                else if (preg_match('/^"((?:[^"\\\\\r\n]|\\\\.)*)"/', $rest, $q)) {
                    $chunks[] = [$m[1], self::unquote($q[1]) . "\n"];
                    $pos += strlen($m[0]) + strlen($q[0]);
                }
            }

            // on to the next line
            $nl = strpos($raw, "\n", $pos);
            $pos = $nl === false ? $len : $nl + 1;
        }

        return $chunks;
    }

    /**
     * unquote($s): the contents of an IMAP quoted string (without its
     * double quotes): "\\X" is X.
     *
     * @param string $s The text between the quotes
     *
     * @return string
     */
    public static function unquote($s)
    {
        return preg_replace('/\\\\(.)/s', '$1', $s);
    }
}
