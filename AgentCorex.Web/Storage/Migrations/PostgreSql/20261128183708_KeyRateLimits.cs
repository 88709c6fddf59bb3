using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations.PostgreSql
{
    /// <inheritdoc />
    public partial class KeyRateLimits : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "max_concurrent",
                table: "api_keys",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "requests_per_minute",
                table: "api_keys",
                type: "integer",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "rate_limit_windows",
                columns: table => new
                {
                    key_id = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    bucket = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    minute = table.Column<long>(type: "bigint", nullable: false),
                    requests = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_rate_limit_windows", x => new { x.key_id, x.bucket, x.minute });
                });

            migrationBuilder.CreateIndex(
                name: "ix_rate_limit_windows_minute",
                table: "rate_limit_windows",
                column: "minute");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "rate_limit_windows");

            migrationBuilder.DropColumn(
                name: "max_concurrent",
                table: "api_keys");

            migrationBuilder.DropColumn(
                name: "requests_per_minute",
                table: "api_keys");
        }
    }
}
