<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{{ shop_name | escape }}</title>
</head>
<body style="margin:0;padding:0;background:#f6f7f9;color:#1c2430;font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;font-size:16px;line-height:1.55;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f6f7f9;">
  <tr>
    <td align="center" style="padding:24px 12px;">
      <table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:600px;background:#ffffff;border:1px solid #d9dee5;border-radius:8px;">
        <tr>
          <td style="padding:20px 28px;border-bottom:3px solid #0f6b5c;font-size:20px;font-weight:700;color:#1c2430;">{{ shop_name | escape }}</td>
        </tr>
        <tr>
          <td style="padding:28px;">
{{ body_html | safe }}
          </td>
        </tr>
        <tr>
          <td style="padding:16px 28px;border-top:1px solid #d9dee5;font-size:13px;color:#566173;">
            You received this email because of your account at {{ shop_name | escape }}.
          </td>
        </tr>
      </table>
    </td>
  </tr>
</table>
</body>
</html>
