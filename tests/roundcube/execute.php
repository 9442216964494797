<?php

// tests/roundcube/execute.php PORT USER PASSFILE CAFILE ARG... - log in
// over imaps to 127.0.0.1:PORT with the plugin's imapexec_client (the
// post-login sync included), run "EXECUTE ARG..." (each ARG one
// argument; "\xHH" in an ARG is the octet HH) and print the result as
// JSON: code, text, out, err.  RC_TIMEOUT: its read timeout (30 s).
// Exit status 2 when the login failed.

require __DIR__ . '/lib.php';

list(, $port, $user, $passfile, $ca) = $argv;
$args = array_map(function ($a) {
    return preg_replace_callback('/\\\\x([0-9A-Fa-f]{2})/', function ($m) {
        return chr(hexdec($m[1]));
    }, $a);
}, array_slice($argv, 5));

$conn = imapexec_client::sync_login('127.0.0.1', $user, rtrim(file_get_contents($passfile), "\n"), [
        'port'           => (int) $port,
        'ssl_mode'       => 'ssl',
        'timeout'        => (int) (getenv('RC_TIMEOUT') ?: 30),
        'socket_options' => ['ssl' => ['cafile' => $ca, 'verify_peer' => true, 'peer_name' => 'localhost']],
]);
if (is_string($conn)) {
    fwrite(STDERR, "$conn\n");
    exit(2);
}

$res = $conn->run($args);
$conn->closeConnection();
unset($res['raw']);
echo json_encode($res, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
