<?php

// tests/roundcube/lib.php - loads Roundcube's rcube_imap_generic (from
// RC_LIB, default Debian's /usr/share/roundcube/program/lib/Roundcube) and
// the plugin's imapexec_client and imapexec (with rcube_plugin), for the PHP tests run by 68-roundcube.bats.

$lib = getenv('RC_LIB') ?: '/usr/share/roundcube/program/lib/Roundcube';
require_once $lib . '/rcube_imap_generic.php';
require_once __DIR__ . '/../../src/roundcube/imapexec/imapexec_client.php';
require_once $lib . '/rcube_plugin.php';
require_once __DIR__ . '/../../src/roundcube/imapexec/imapexec.php';

/**
 * check($cond, $what): count a check; print "not ok" and what failed.
 */
function check($cond, $what)
{
    global $checks, $failed;
    $checks++;
    if (!$cond) {
        $failed++;
        fwrite(STDERR, "not ok: $what\n");
    }
}

/**
 * same($got, $want, $what): check($got === $want), showing both.
 */
function same($got, $want, $what)
{
    check($got === $want, $what . ': got ' . var_export($got, true) . ', want ' . var_export($want, true));
}

/**
 * done(): exit 1 if a check failed, else print how many passed.
 */
function done()
{
    global $checks, $failed;
    if ($failed) {
        fwrite(STDERR, "$failed of $checks checks failed\n");
        exit(1);
    }
    echo "ok: $checks checks\n";
}
